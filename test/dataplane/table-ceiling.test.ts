// native/bench/table_ceiling, which npm run bench runs beside testpmd and Sluice:
// it warms its flow table with every flow of the pcap before timing, keeps none
// without it, and refuses bad arguments.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildCeiling, runCeiling, type CeilingOptions } from '../../tools/bench/ceiling-run';
import { TCP_ACK, writeFlowPcap } from '../../tools/bench/pcap-flows';
import { BENCH_PORT, BENCH_VIP, mbufsFor, memoryMbFor, type BenchRun } from '../../tools/bench/sluice-config';
import { DPDK_RUNTIME_ROOT } from '../../src/runtime-dirs';

const ROOT = resolve(__dirname, '../../..');
const FLOWS = 2048;

describe('table_ceiling', () => {
  let dir: string;
  let o: CeilingOptions;
  before(() => {
    buildCeiling();
    dir = mkdtempSync(join(tmpdir(), 'sluice-ceiling-'));
    const pcap = join(dir, 'flows.pcap');
    writeFlowPcap(pcap, { flows: FLOWS, vip: BENCH_VIP, port: BENCH_PORT, flags: TCP_ACK });
    const run: BenchRun = { device: '', entriesPerLcore: FLOWS, preload: FLOWS, hugepages: false };
    o = { pcap, flows: FLOWS, cores: '0,1', mbufs: mbufsFor(run), memoryMb: memoryMbFor(run), hugepages: false, seconds: 1,
      table: true };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const runtimeDirs = () =>
    existsSync(DPDK_RUNTIME_ROOT) ? readdirSync(DPDK_RUNTIME_ROOT).filter((d) => d.startsWith('sluice-bench-ceiling-')) : [];

  test('with the table: every flow inserted before timing, then forwarding', async () => {
    const r = await runCeiling(o);
    assert.ok(r.inserts >= FLOWS, `${r.inserts} inserts for ${FLOWS} flows`);
    // Each flow once: the pcap replays them over and over, and a remembered flow is not inserted again.
    assert.ok(r.inserts < 2 * FLOWS, `${r.inserts} inserts: flows are not remembered`);
    assert.ok(r.mpps > 0, `${r.mpps} Mpps`);
    assert.match(r.command, / -- --flows 2048 --mbufs 18432 --seconds 1$/);
    assert.deepEqual(runtimeDirs(), [], 'no EAL runtime directory left behind');
  });

  test('without the table: nothing inserted, still forwarding', async () => {
    const r = await runCeiling({ ...o, table: false });
    assert.equal(r.inserts, 0);
    assert.ok(r.mpps > 0, `${r.mpps} Mpps`);
    assert.match(r.command, / --no-table$/);
  });

  test('the floor: a line read per packet, each frame counted as seen, still forwarding', async () => {
    const r = await runCeiling({ ...o, floor: true });
    // Every packet counts: more than one pass over the flows before timing ends.
    assert.ok(r.inserts > FLOWS, `${r.inserts} packets seen for ${FLOWS} flows`);
    assert.ok(r.mpps > 0, `${r.mpps} Mpps`);
    assert.match(r.command, / --floor$/);
  });

  test('bad arguments are refused with a usage line', () => {
    const binary = join(ROOT, 'native/bench/build/table_ceiling');
    const eal = ['-l', '0', '--no-huge', '-m', '256', '--no-pci', '--file-prefix', `sluice-bench-ceiling-t${process.pid}`];
    const refused = (args: string[]) => {
      try {
        execFileSync(binary, [...eal, '--', ...args], { stdio: 'pipe' });
      } catch (err) {
        return String((err as { stderr: Buffer }).stderr);
      } finally {
        rmSync(join(DPDK_RUNTIME_ROOT, `sluice-bench-ceiling-t${process.pid}`), { recursive: true, force: true });
      }
      return 'exit 0';
    };
    assert.match(refused(['--flows', '-5']), /whole numbers/);
    assert.match(refused(['--flows', '0', '--mbufs', '64']),
      /--flows, --mbufs and --seconds take whole numbers from 1 to 2\^26/);
    assert.match(refused(['--flows', '8']), /--flows, --mbufs and --seconds take whole numbers/, 'no pool size');
    assert.match(refused(['--flows', '8', '--bogus']), /unknown argument --bogus; usage: table_ceiling/);
    assert.match(refused(['--flows', '8', '--mbufs', '64', '--floor', '--no-table']), /--floor and --no-table exclude each other/);
    assert.match(refused(['--flows', '8', '--mbufs', '64']), /exactly one port/);
  });
});
