// The benchmark's inputs and one of its derived figures, without running it:
// the pcap writer's repeated flows (many frames, few flows) and the report's
// split of the 1M-flow cost into what many frames and what many flows add.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FRAME_LEN, flowPcap, flowSource } from '../src/bench/pcap-flows';
import { renderFrameSplit } from '../src/bench/report';
import type { ThroughputRow } from '../src/bench/main';

const GLOBAL_HEADER_LEN = 24;
const RECORD_LEN = 16 + FRAME_LEN;

function frames(pcap: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = GLOBAL_HEADER_LEN; off < pcap.length; off += RECORD_LEN) {
    assert.equal(pcap.readUInt32LE(off + 8), FRAME_LEN, 'captured length');
    out.push(pcap.subarray(off + 16, off + RECORD_LEN));
  }
  return out;
}

function ipv4HeaderSumOk(frame: Buffer): boolean {
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += frame.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum === 0xffff;
}

describe('flowPcap', () => {
  const o = { vip: '10.99.0.100', port: 80, flags: 0x10 };

  test('one frame per flow by default, each a distinct source', () => {
    const list = frames(flowPcap({ ...o, flows: 5 }));
    assert.equal(list.length, 5);
    assert.equal(new Set(list.map((f) => f.toString('hex'))).size, 5);
  });

  test('frames beyond the flows repeat them in order, byte for byte, with valid headers', () => {
    const list = frames(flowPcap({ ...o, flows: 3, frames: 8 }));
    assert.equal(list.length, 8);
    for (let i = 0; i < 8; i++) {
      const src = flowSource(i % 3);
      assert.equal(list[i].readUInt32BE(26), src.address, `frame ${i} source address`);
      assert.equal(list[i].readUInt16BE(34), src.port, `frame ${i} source port`);
      assert.deepEqual(list[i], list[i % 3], `frame ${i} repeats frame ${i % 3}`);
      assert.ok(ipv4HeaderSumOk(list[i]), `frame ${i} IPv4 checksum`);
    }
  });

  test('fewer frames than flows, or no flows, is refused', () => {
    assert.throws(() => flowPcap({ ...o, flows: 4, frames: 3 }), RangeError);
    assert.throws(() => flowPcap({ ...o, flows: 0 }), RangeError);
  });
});

describe('renderFrameSplit', () => {
  const row = (flows: number, receiveNs: number, processNs: number): ThroughputRow => ({
    mode: 'dsr', flows, sluiceMpps: 1000 / (receiveNs + processNs), testpmdMpps: 20, ratio: 0.5, rxonlyMpps: 30,
    receiveNs, processNs, rounds: [], sluiceHits: 0, sluiceMisses: 0, sluiceDrops: 0, warmSec: 0,
    sluiceCommand: '', testpmdCommand: '', testpmdSamples: [],
  });
  const rows = [row(1024, 12, 50), row(1048576, 29, 64)];
  const split = { flows: 1024, frames: 1048576, sluiceMpps: 12.5, receiveNs: 27, processNs: 52, rounds: [], command: '' };

  test('the three dsr runs side by side, and what frames and flows each add', () => {
    const text = renderFrameSplit(rows, split).join('\n');
    assert.match(text, /\| 1K \| 1K \| 16\.13 \| 12\.0 ns \| 50\.0 ns \|/);
    assert.match(text, /\| 1K \| 1M \| 12\.50 \| 27\.0 ns \| 52\.0 ns \|/);
    assert.match(text, /\| 1M \| 1M \| 10\.75 \| 29\.0 ns \| 64\.0 ns \|/);
    assert.match(text, /receive calls 15\.0 ns per packet/);
    assert.match(text, /processing 2\.0 ns \(the replay[^)]*\); many flows then add 12\.0 ns of processing/);
  });

  test('nothing without the split run or its neighbours', () => {
    assert.deepEqual(renderFrameSplit(rows, undefined), []);
    assert.deepEqual(renderFrameSplit([rows[0]], split), []);
  });
});
