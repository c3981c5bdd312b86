// One data-plane run over a net_pcap port, in its own process because the EAL
// initialises once per process and some tests compare two independent runs.
//
//   node dist/test/helpers/pcap-run.js CONFIG EXPECTED_RX_PACKETS
//
// Goes through the operator path (config file -> loadConfigFile -> Dataplane);
// the port's rx_pcap is read as soon as the port starts, with the config's
// services already in force. Waits until the workers have received
// EXPECTED_RX_PACKETS frames and flushed, prints one RESULT_PREFIX line with
// { ports, stats } to stdout, then stops the data plane, which closes the port
// and so completes its tx_pcap.
import { loadConfigFile } from '../../src/config';
import { Dataplane } from '../../src/dataplane';
import type { DataplaneStats } from '../../src/native/addon';
import { lcoreTotals } from '../../src/native/lcore-totals';

/**
 * DPDK 22.11's pcap PMD gives every port the same fixed address ("\x02pcap\0").
 * The runner checks it because inputs are written before the port exists.
 */
export const PCAP_PORT_MAC = '02:70:63:61:70:00';

/** EAL and the PMD log to stdout too; the result is the line with this prefix. */
export const RESULT_PREFIX = 'PCAP_RUN_RESULT ';

const TIMEOUT_MS = 20000;
/** Each loop iteration ends with a tx flush; the margin covers an iteration already under way. */
const SETTLE_ITERATIONS = 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rxTotal = (s: DataplaneStats) => lcoreTotals(s).rx;
const minIterations = (s: DataplaneStats) => lcoreTotals(s).iterations;

async function main(configPath: string, expected: number): Promise<number> {
  const cfg = loadConfigFile(configPath);
  const dp = new Dataplane();
  dp.start(cfg, `pcap-${process.pid}`);
  try {
    const mac = dp.ports()[0].mac;
    if (mac !== PCAP_PORT_MAC) {
      process.stderr.write(`pcap-run: port MAC is ${mac}, tests address frames to ${PCAP_PORT_MAC}\n`);
      return 3;
    }
    const deadline = Date.now() + TIMEOUT_MS;
    let rx = rxTotal(dp.stats());
    while (rx < expected) {
      if (Date.now() > deadline) {
        process.stderr.write(`pcap-run: workers received ${rx} of ${expected} packets in ${TIMEOUT_MS} ms\n`);
        return 4;
      }
      await sleep(3);
      rx = rxTotal(dp.stats());
    }
    const settled = minIterations(dp.stats()) + SETTLE_ITERATIONS;
    while (minIterations(dp.stats()) < settled) await sleep(1);
    const stats = dp.stats();
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify({ ports: dp.ports(), stats })}\n`);
    return 0;
  } finally {
    dp.stop();
  }
}

if (require.main === module) {
  const [configPath, expectedText] = process.argv.slice(2);
  const expected = Number(expectedText);
  if (configPath === undefined || !Number.isInteger(expected) || expected < 0) {
    process.stderr.write('usage: pcap-run CONFIG EXPECTED_RX_PACKETS\n');
    process.exit(2);
  }
  main(configPath, expected).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`pcap-run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
