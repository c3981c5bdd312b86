// The store on a stand-in addon (fake-addon.ts), started with `cfg`'s services:
// for tests of how changes reach the data plane, without the EAL.
import type { SluiceConfig } from '../../src/config';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { fakeAddon, type FakeAddon } from './fake-addon';

export function fakeStore(cfg: SluiceConfig): { native: FakeAddon; store: ServiceStore } {
  const native = fakeAddon();
  const dataplane = new Dataplane(native);
  dataplane.start(cfg);
  const store = new ServiceStore(cfg, dataplane);
  store.started(cfg.services);
  return { native, store };
}
