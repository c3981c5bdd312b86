// A stand-in for the native addon, for tests of the control plane alone (the
// store, the views, the REST API at scale) that need neither the EAL nor a
// port: setServices keeps the set it is given and hands out generations, stats
// reports every service and backend with its counters at 0. `failNext` makes
// the next setServices throw as the addon would.
import { BACKEND_COUNTERS, countsOf, SERVICE_COUNTERS } from '../../src/native/counters';
import type { DataplaneStats, SluiceAddon } from '../../src/native/addon';
import type { NativeService } from '../../src/native/types';

export interface FakeAddon extends SluiceAddon {
  /** the set the last successful setServices applied */
  applied: NativeService[];
  setServicesCalls: number;
  generation: number;
  failNext?: Error;
}

export function fakeAddon(): FakeAddon {
  const fake: Partial<FakeAddon> = {
    applied: [],
    setServicesCalls: 0,
    generation: 0,
    start(_config, services = []) {
      fake.applied = services;
    },
    stop() {},
    poll() {},
    setServices(services) {
      fake.setServicesCalls!++;
      if (fake.failNext !== undefined) {
        const err = fake.failNext;
        fake.failNext = undefined;
        throw err;
      }
      fake.applied = services;
      return { generation: ++fake.generation!, tablesBuilt: 0 };
    },
    stats(): DataplaneStats {
      return {
        lcores: [],
        ports: [],
        mempools: [],
        generation: fake.generation!,
        retiredSnapshots: 0,
        services: fake.applied!.map((s) => ({
          id: s.id,
          name: s.name,
          ...countsOf(undefined, SERVICE_COUNTERS),
          backends: s.backends.map((b) => ({ id: b.id, address: b.address, port: b.port, ...countsOf(undefined, BACKEND_COUNTERS) })),
        })),
      };
    },
    lcores: () => [],
    ports: () => [],
    neighbors: () => [],
  };
  return fake as FakeAddon;
}
