// GET /api/v1/node: the process as a whole: what runs, whether its lcores move,
// and its memory by kind.
import { Type } from '@sinclair/typebox';
import { strict } from './common';

const Bytes = (description: string) => Type.Integer({ minimum: 0, description });

const PerLcore = Type.Array(
  Type.Object(
    {
      lcore: Type.Integer(),
      ipv4Bytes: Bytes('the IPv4 table'),
      ipv6Bytes: Bytes('the IPv6 table; 0 when none is allocated'),
    },
    strict,
  ),
);

export const NodeView = Type.Object(
  {
    name: Type.String({ description: 'the host\'s name' }),
    pid: Type.Integer(),
    version: Type.String({ description: 'the running Sluice\'s version' }),
    uptimeSec: Type.Number({ description: 'since the process started' }),
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
            bytes: Bytes('all worker lcores\' tables'),
            limitBytes: Bytes('limits.flowTablesMb'),
            lcores: PerLcore,
          },
          { ...strict, description: 'EAL memory, allocated at start: flowTable.entriesPerLcore flows each (IPv6: a quarter)' },
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
