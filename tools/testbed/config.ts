// The balancer's config for the test bed (tools/testbed/topology.ts): the
// af_packet port on sluice-lb, two worker lcores, one DSR service over the three
// backends with HTTP health checks, and a nat pool for natService(). Backend MACs
// are resolved by ARP.
import {
  BACKENDS, BALANCER_ADDRESS, LB_DEVICE, NAT_BACKEND_PORT, NAT_POOL, NAT_VIP, SERVICE_PORT, SUBNET_PREFIX, VIP,
} from './topology';

export interface TestbedConfigOptions {
  /** host:port for the REST API; port 0 picks a free one */
  apiListen: string;
  stateFile?: string;
  /** also the nat service (natService()) */
  nat?: boolean;
}

/** Probes twice a second: a dead backend is down within fall × interval = 1.5 s. */
export const HEALTH_CHECK = { type: 'http', path: '/', intervalMs: 500, timeoutMs: 300, rise: 2, fall: 3 } as const;

/** What every test bed node's config has after its ports: data plane, flow table, API, state file. */
export function daemonSettings(o: { apiListen: string; stateFile?: string }): Record<string, unknown> {
  return {
    dataplane: { idleSleepMaxUs: 100 },
    flowTable: { entriesPerLcore: 65536 },
    api: { listen: o.apiListen },
    ...(o.stateFile === undefined ? {} : { stateFile: o.stateFile }),
  };
}

/** A tcp service on `vip`:`port` over `backends`, each on `backendPort` (`port` too by default), with HEALTH_CHECK. */
export function testbedService(name: string, vip: string, port: number, forwarding: 'dsr' | 'nat',
  backends: readonly { address: string }[], backendPort = port): Record<string, unknown> {
  return {
    name,
    vip,
    port,
    protocol: 'tcp',
    forwarding,
    healthCheck: { ...HEALTH_CHECK },
    backends: backends.map((b) => ({ address: b.address, port: backendPort })),
  };
}

export function testbedConfig(o: TestbedConfigOptions): Record<string, unknown> {
  return {
    eal: { lcores: '0@0,1@1,2@1', hugepages: true },
    ports: [{ name: 'lb0', device: LB_DEVICE, queues: 2, address: `${BALANCER_ADDRESS}/${SUBNET_PREFIX}`,
      natPool: { addresses: [...NAT_POOL] } }],
    ...daemonSettings(o),
    services: [testbedService('web', VIP, SERVICE_PORT, 'dsr', BACKENDS), ...(o.nat ? [natService()] : [])],
  };
}

/** The same backends behind NAT_VIP, which they do not hold, on their NAT_BACKEND_PORT servers. */
export function natService(): Record<string, unknown> {
  return testbedService('webnat', NAT_VIP, SERVICE_PORT, 'nat', BACKENDS, NAT_BACKEND_PORT);
}
