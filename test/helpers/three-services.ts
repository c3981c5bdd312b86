// A config of three small services (web, api, dns; two backends each) on a ring
// port, for the store's tests with the stand-in addon (fake-addon.ts).
import { validateConfig } from '../../src/config';

export const threeServices = validateConfig({
  eal: { lcores: '0@0,1@1', hugepages: false },
  ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
  services: ['web', 'api', 'dns'].map((name, i) => ({
    name, vip: `10.99.0.${100 + i}`, port: 80,
    backends: [{ address: `10.99.0.${10 + 2 * i}`, port: 80 }, { address: `10.99.0.${11 + 2 * i}`, port: 80 }],
  })),
});
