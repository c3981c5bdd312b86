// Bytes per flow entry, two ways: from the table's layout (rte_hash 22.11 as
// FlowTable::Create sizes it) and measured as the resident-set difference of two
// otherwise identical processes replaying the same pcap of distinct flows, one
// whose table holds every flow and one with the minimum table. EAL memory under
// --no-huge is ordinary anonymous memory that rte_zmalloc does not need to zero
// (it is known clean), so an empty table costs little RSS: only a filled one
// shows what a flow costs.
import { benchConfig } from './sluice-config';
import type { SluiceRunResult } from './sluice-run';

/** native/flow_table.h: extra positions over capacity, in percent. */
const SLACK_PERCENT = 25;
/** rte_hash 22.11: 8 entries per bucket, a bucket is one 64-byte cache line. */
const BUCKET_ENTRIES = 8;
const BUCKET_BYTES = 64;
/** rte_hash key slot: 8-byte data pointer + 16-byte key, aligned to 16. */
const KEY_SLOT_BYTES = 32;
/** rte_hash's free-slot ring holds 32-bit slot indices. */
const RING_SLOT_BYTES = 4;
/** FlowEntry, the side array indexed by rte_hash position. */
const FLOW_ENTRY_BYTES = 16;

const SMALL = 1024;

export interface FlowLayout {
  capacity: number;
  positions: number;
  bucketBytes: number;
  keyStoreBytes: number;
  freeRingBytes: number;
  sideArrayBytes: number;
  bytesPerFlow: number;
}

export interface FlowMemory {
  layout: FlowLayout[];
  measured: { smallEntries: number; largeEntries: number; smallRss: number; largeRss: number; bytesPerFlow: number };
  commands: string[];
}

const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(n));

export function flowLayout(capacity: number): FlowLayout {
  const positions = capacity + Math.floor(capacity / 100) * SLACK_PERCENT;
  const bucketBytes = (pow2(positions) / BUCKET_ENTRIES) * BUCKET_BYTES;
  const keyStoreBytes = (positions + 1) * KEY_SLOT_BYTES;
  const freeRingBytes = pow2(positions + 1) * RING_SLOT_BYTES;
  const sideArrayBytes = positions * FLOW_ENTRY_BYTES;
  const total = bucketBytes + keyStoreBytes + freeRingBytes + sideArrayBytes;
  return { capacity, positions, bucketBytes, keyStoreBytes, freeRingBytes, sideArrayBytes, bytesPerFlow: total / capacity };
}

/** `pcap` holds `flows` frames, one per distinct flow; `run` waits for `warm` inserts. */
export async function flowMemory(
  writeConfig: (name: string, cfg: object) => string,
  pcap: string,
  flows: number,
  run: (configPath: string, warm: number) => Promise<SluiceRunResult>,
  command: (configPath: string, warm: number) => string,
): Promise<FlowMemory> {
  const LARGE = flows;
  const rss: number[] = [];
  const commands: string[] = [];
  for (const entries of [SMALL, LARGE]) {
    // Same memoryMb and mbufs for both, so only the table differs.
    const c = benchConfig({ device: `net_pcap0,rx_pcap=${pcap},infinite_rx=1`, entriesPerLcore: LARGE, preload: flows }) as {
      flowTable: { entriesPerLcore: number };
    };
    c.flowTable.entriesPerLcore = entries;
    const cfg = writeConfig(`memory-${entries}.json`, c);
    // The large table is filled: every flow inserted before the RSS is read.
    const warm = entries === LARGE ? LARGE : SMALL;
    rss.push((await run(cfg, warm)).rssBytes);
    commands.push(command(cfg, warm));
  }
  return {
    layout: [1024 * 1024, 4 * 1024 * 1024].map(flowLayout),
    measured: { smallEntries: SMALL, largeEntries: LARGE, smallRss: rss[0], largeRss: rss[1],
      bytesPerFlow: (rss[1] - rss[0]) / (LARGE - SMALL) },
    commands,
  };
}
