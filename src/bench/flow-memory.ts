// Bytes per flow entry, two ways: from the table's layout (as
// FlowTable::MemoryBytes sizes it, which the worker also reports) and measured as the resident-set difference of two
// otherwise identical processes replaying the same pcap of distinct flows, one
// whose table holds every flow and one with the minimum table. EAL memory under
// --no-huge is ordinary anonymous memory that rte_zmalloc does not need to zero
// (it is known clean), so an empty table costs little RSS: only a filled one
// shows what a flow costs.
import { benchConfig } from './sluice-config';
import type { SluiceRunResult } from './sluice-run';

/** native/flow_table.h: buckets are sized this much above capacity, in percent. */
const SLACK_PERCENT = 25;
/** native/flow_table.h: FlowBucket is one 64-byte line for 8 ways; FlowRecord is 32 bytes. */
const WAYS = 8;
const BUCKET_BYTES = 64;
const RECORD_BYTES = 32;

const SMALL = 1024;

export interface FlowLayout {
  capacity: number;
  slots: number;
  bucketBytes: number;
  recordBytes: number;
  bytesPerFlow: number;
}

export interface FlowMemory {
  layout: FlowLayout[];
  measured: {
    smallEntries: number; largeEntries: number; smallRss: number; largeRss: number; bytesPerFlow: number;
    /** FlowTable::MemoryBytes as the large run's worker reported it */
    reportedBytes: number;
  };
  commands: string[];
}

export function flowLayout(capacity: number): FlowLayout {
  const buckets = Math.max(2, Math.ceil(Math.floor(capacity * (100 + SLACK_PERCENT) / 100) / WAYS));
  const bucketBytes = buckets * BUCKET_BYTES;
  const recordBytes = buckets * WAYS * RECORD_BYTES;
  return { capacity, slots: buckets * WAYS, bucketBytes, recordBytes, bytesPerFlow: (bucketBytes + recordBytes) / capacity };
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
  let reportedBytes = 0;
  const commands: string[] = [];
  for (const entries of [SMALL, LARGE]) {
    // Same memoryMb and mbufs for both, so only the table differs.
    const c = benchConfig({ device: `net_pcap0,rx_pcap=${pcap},infinite_rx=1`, entriesPerLcore: LARGE, preload: flows,
      hugepages: false /* RSS does not count hugetlbfs pages */ }) as {
      flowTable: { entriesPerLcore: number };
    };
    c.flowTable.entriesPerLcore = entries;
    const cfg = writeConfig(`memory-${entries}.json`, c);
    // The large table is filled: every flow inserted before the RSS is read.
    const warm = entries === LARGE ? LARGE : SMALL;
    const result = await run(cfg, warm);
    rss.push(result.rssBytes);
    if (entries === LARGE) reportedBytes = result.after.flowMemoryBytes;
    commands.push(command(cfg, warm));
  }
  return {
    layout: [1024 * 1024, 4 * 1024 * 1024].map(flowLayout),
    measured: { smallEntries: SMALL, largeEntries: LARGE, smallRss: rss[0], largeRss: rss[1],
      bytesPerFlow: (rss[1] - rss[0]) / (LARGE - SMALL), reportedBytes },
    commands,
  };
}
