// GET /api/v1/node: the process as a whole: what runs, whether it drains and
// the flows it still holds, whether its lcores move, and its memory by kind;
// the answers of POST /api/v1/node/drain and /undrain.
import { Type } from '@sinclair/typebox';
import { strict } from './common';

const Bytes = (description: string) => Type.Integer({ minimum: 0, description });

const PerLcoreProperties = {
  lcore: Type.Integer(),
  ipv4Bytes: Bytes('the IPv4 table'),
  ipv6Bytes: Bytes('the IPv6 table; 0 when none is allocated'),
};
const PerLcore = Type.Array(Type.Object(PerLcoreProperties, strict));
const FlowTablesPerLcore = Type.Array(Type.Object({
  ...PerLcoreProperties,
  fragmentBytes: Bytes('the IP fragment table; 0 with fragments.enabled false'),
}, strict));

const Count = (description: string) => Type.Integer({ minimum: 0, description });

/** The drain state and the flows left, in GET /api/v1/node and the answers of drain and undrain. */
const DrainProperties = {
  state: Type.Union([Type.Literal('active'), Type.Literal('draining')], {
    description: 'draining: every VIP withdrawn over BGP (POST /api/v1/node/drain, or a stop signal with drain.onStopSec), '
      + 'while the data plane forwards whatever still arrives; not kept across a restart (a restarted node is active)',
  }),
  drainingSince: Type.Optional(Type.String({ description: 'ISO time the drain began; only while draining' })),
  drainingForSec: Type.Optional(Type.Number({ minimum: 0, description: 'since the drain began; only while draining' })),
  drainedBy: Type.Optional(Type.Union([Type.Literal('api'), Type.Literal('stop')], {
    description: 'api: POST /api/v1/node/drain; stop: a stop signal (the node then cannot be undrained)',
  })),
  flows: Type.Optional(Type.Object(
    {
      active: Count('flows in all worker lcores\' tables: what a draining node still forwards'),
      natSessions: Count('nat sessions all worker lcores hold'),
      lcores: Type.Array(Type.Object({
        lcore: Type.Integer(),
        active: Count('flows in the lcore\'s tables (its flows.active gauge)'),
        natSessions: Count('nat sessions the lcore holds'),
      }, strict)),
    },
    { ...strict, description: 'the flows left per worker lcore; absent while the data plane does not run' },
  )),
};

export const NodeDrainView = Type.Object(DrainProperties, { ...strict, title: 'NodeDrain' });

export const NodeView = Type.Object(
  {
    name: Type.String({ description: 'the host\'s name' }),
    pid: Type.Integer(),
    version: Type.String({ description: 'the running Sluice\'s version' }),
    uptimeSec: Type.Number({ description: 'since the process started' }),
    ...DrainProperties,
    lcores: Type.Object(
      {
        total: Type.Integer({ minimum: 0, description: 'worker lcores' }),
        alive: Type.Integer({ minimum: 0, description: 'those whose loop moved within the last second' }),
        stuck: Type.Array(Type.Object({
          lcore: Type.Integer(),
          stillForSec: Type.Number({ description: 'since its loop last moved' }),
        }, strict)),
      },
      { ...strict, description: 'each worker lcore advances a counter every loop iteration, idle or not; one that stands '
        + 'still for a second is stuck (it forwards nothing), and /readyz answers 503' },
    ),
    memory: Type.Object(
      {
        residentBytes: Bytes('the process\'s resident set (RSS); hugepages are not part of it'),
        hugepagesBytes: Bytes('the process\'s hugepages (HugetlbPages): the EAL\'s memory with eal.hugepages, where flow tables, '
          + 'nat sessions and mbuf pools live; 0 without hugepages or /proc'),
        lookupTables: Type.Object(
          {
            tables: Type.Integer({ minimum: 0, description: 'one per service' }),
            bytes: Bytes('the services\' tables in use: 4 bytes a slot'),
            reserveBytes: Bytes('kept free to rebuild the largest table during a change; bytes plus this must fit limitBytes'),
            retiredBytes: Bytes('replaced tables still alive, waiting for every worker to let go of them (RCU)'),
            limitBytes: Bytes('limits.lookupTablesMb'),
          },
          { ...strict, description: 'ordinary heap memory, outside the EAL\'s' },
        ),
        flowTables: Type.Object(
          {
            bytes: Bytes('all worker lcores\' tables, fragment tables included'),
            limitBytes: Bytes('limits.flowTablesMb'),
            lcores: FlowTablesPerLcore,
          },
          { ...strict, description: 'EAL memory, allocated at start: flowTable.entriesPerLcore flows each (IPv6: a quarter), '
            + 'and fragments.entriesPerLcore datagrams' },
        ),
        natSessions: Type.Object(
          {
            bytes: Bytes('all worker lcores\' session tables; 0 without a nat pool'),
            limitBytes: Bytes('limits.natSessionsMb'),
            lcores: PerLcore,
          },
          { ...strict, description: 'EAL memory, allocated at start when a port has a nat pool' },
        ),
        mbufPools: Type.Object(
          {
            bytes: Bytes('all pools'),
            pools: Type.Array(Type.Object(
              {
                name: Type.String(),
                socket: Type.Integer({ description: 'NUMA socket' }),
                mbufs: Type.Integer({ minimum: 0 }),
                bytes: Bytes('the pool\'s memory: mbufs with their headers and data rooms'),
              },
              strict,
            )),
          },
          { ...strict, description: 'EAL memory: one pool per NUMA socket, sized at start' },
        ),
      },
      { ...strict, description: 'bytes by kind; the limits are the config\'s limits section' },
    ),
  },
  { ...strict, title: 'Node' },
);
