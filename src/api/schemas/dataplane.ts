// Response bodies for what the data plane reports: ports, worker lcores, counters.
import { Type } from '@sinclair/typebox';
import { BACKEND_COUNTERS, LCORE_DROPS, SERVICE_COUNTERS, statsValues } from '../../native/counters';
import { counterProperties, strict } from './common';
import { RatesSchema } from './services';

const Count = (description?: string) => Type.Integer({ minimum: 0, ...(description ? { description } : {}) });

const PortCounters = {
  rxPackets: Count(),
  txPackets: Count(),
  rxBytes: Count(),
  txBytes: Count(),
  rxMissed: Count('dropped by the NIC: no free rx descriptor'),
  rxErrors: Count(),
  txErrors: Count(),
};

/** The port's TAP for the node's own traffic (docs/configuration.md, "The kernel interface"). */
export const KernelInterfaceView = Type.Object(
  {
    name: Type.String({ description: 'the kernel\'s interface name' }),
    toKernel: Count('frames for the node itself written to the TAP'),
    toKernelDropped: Count('frames the TAP did not take'),
    fromKernel: Count('frames the kernel sent, passed to the port'),
    fromKernelDropped: Count('frames the kernel sent that did not leave: not from the port\'s MAC, or no room'),
  },
  { ...strict, description: 'ports with a kernel interface; the workers\' refusals are drops ' +
    'kernel_rate_limited and kernel_queue_full' },
);

export const PortView = Type.Object(
  {
    name: Type.String(),
    portId: Type.Integer(),
    driver: Type.String(),
    socket: Type.Integer({ description: 'NUMA socket; 0 when the device does not say' }),
    mac: Type.String(),
    rxQueues: Type.Integer(),
    txQueues: Type.Integer(),
    mtu: Type.Integer(),
    link: Type.Object({ up: Type.Boolean(), speedMbps: Type.Integer(), fullDuplex: Type.Boolean() }, strict),
    rss: Type.Object(
      {
        requested: Type.String({ description: 'comma-separated RSS hash types' }),
        offered: Type.String(),
        missing: Type.String(),
      },
      strict,
    ),
    rxIpChecksumOffload: Type.Boolean(),
    natSteering: Type.Optional(Type.Union([Type.Literal('rte_flow'), Type.Literal('software')], {
      description: 'ports with a nat pool: how replies reach the lcore that owns their pool port',
    })),
    natSteeringReason: Type.Optional(Type.String({ description: 'with natSteering software: why the NIC does not steer' })),
    warnings: Type.Array(Type.String()),
    stats: Type.Object(
      {
        ...PortCounters,
        rxNoMbuf: Count('dropped for want of an mbuf'),
        xstats: Type.Record(Type.String(), Type.Number(), { description: "the driver's extended counters" }),
        kernelInterface: Type.Optional(KernelInterfaceView),
      },
      strict,
    ),
  },
  { ...strict, title: 'Port' },
);

export const PortList = Type.Array(PortView);

// What GET /api/v1/stats shows of each lcore: the counters whose api is stats in
// native/common/lcore_counters.h, by group.
export const STATS_LCORE_VALUES = statsValues('top', 'icmp', 'loop');
export const STATS_FLOW_VALUES = statsValues('flows');
export const STATS_NAT_VALUES = statsValues('nat');

const NatCounters = Type.Object(counterProperties(STATS_NAT_VALUES),
  { ...strict, description: 'forwarding nat; all 0 without a nat pool' });

export const LcoreView = Type.Object(
  {
    lcore: Type.Integer(),
    rx: Type.Optional(
      Type.Array(Type.Object({ port: Type.String(), queue: Type.Integer() }, strict), {
        description: 'the (port, queue) pairs this lcore polls, from the config',
      }),
    ),
    rxPackets: Count(),
    txPackets: Count(),
    busyRatio: Type.Number({ minimum: 0, maximum: 1, description: 'share of cycles spent on packets' }),
    nsPerPacket: Type.Object(
      {
        receive: Type.Number({ minimum: 0, description: 'in receive calls that returned packets: the PMD\'s work' }),
        process: Type.Number({ minimum: 0, description: 'processing them up to the tx hand-off: Sluice\'s own work' }),
      },
      { ...strict, description: 'mean time per received packet since start, by what the lcore waited on' },
    ),
    flows: Type.Object(
      { active: Count('flows in this lcore\'s table'), capacity: Count('entries the table holds') },
      strict,
    ),
    generation: Count('the configuration generation this lcore runs: a change is in force here once it reaches the '
      + 'generation the change made (every change made before it included)'),
  },
  { ...strict, title: 'Lcore' },
);

export const LcoreList = Type.Array(LcoreView);

export const StatsView = Type.Object(
  {
    ports: Type.Array(Type.Object({ name: Type.String(), ...PortCounters }, strict)),
    lcores: Type.Array(
      Type.Object(
        {
          lcore: Type.Integer(),
          ...counterProperties(STATS_LCORE_VALUES),
          drops: Type.Record(Type.String(), Count(), { description: LCORE_DROPS.help }),
          flows: Type.Object(counterProperties(STATS_FLOW_VALUES), strict),
          nat: NatCounters,
        },
        strict,
      ),
    ),
    services: Type.Array(
      Type.Object(
        {
          name: Type.String(),
          ...counterProperties(SERVICE_COUNTERS),
          rates: Type.Optional(RatesSchema),
          backends: Type.Array(
            Type.Object(
              {
                address: Type.String(),
                port: Type.Integer(),
                weight: Type.Integer(),
                state: Type.String({ description: 'admin state: active, drain or disabled' }),
                health: Type.String({ description: 'up, down or unchecked' }),
                ...counterProperties(BACKEND_COUNTERS),
                rates: Type.Optional(RatesSchema),
              },
              strict,
            ),
          ),
        },
        strict,
      ),
    ),
  },
  { ...strict, title: 'Stats' },
);
