// Counts the address parses (parseIp and normalizeIp of src/net/addr) the code
// under test makes: what a view or a change repeats per backend shows as a
// count that grows with the backends, where a timing would only be noisy.
// require, not import: the spy replaces the export every module reads at call time.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import addr = require('../../src/net/addr');

export interface AddressParses {
  /** parses since start() or the last reset */
  count: number;
  reset(): void;
  /** puts the real functions back */
  stop(): void;
}

export function countAddressParses(): AddressParses {
  const { normalizeIp, parseIp } = addr;
  const counter: AddressParses = {
    count: 0,
    reset: () => {
      counter.count = 0;
    },
    stop: () => {
      addr.normalizeIp = normalizeIp;
      addr.parseIp = parseIp;
    },
  };
  addr.normalizeIp = (s) => (counter.count++, normalizeIp(s));
  addr.parseIp = (s) => (counter.count++, parseIp(s));
  return counter;
}
