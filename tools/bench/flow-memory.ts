// Bytes per flow entry, two ways: what the table reserves (FlowTable::MemoryBytes,
// as the worker reports it) and measured as the resident-set difference of two
// otherwise identical processes replaying the same pcap of distinct flows, one
// whose table holds every flow and one with the minimum table. EAL memory under
// --no-huge is ordinary anonymous memory that rte_zmalloc does not need to zero
// (it is known clean), so an empty table costs little RSS: only a filled one
// shows what a flow costs.
//
// Both of those replay a preloaded pcap, whose frames take most of the resident
// set. The resident memory of a process as deployed is measured apart: the same
// pcap read once (no infinite_rx, so nothing is preloaded) and the mbuf pool at
// its default size, after the worker has inserted every flow.
import { benchConfig, replayDevice } from './sluice-config';
import type { SluiceRunResult } from './sluice-run';

const SMALL = 1024;

export interface FlowMemory {
  measured: {
    smallEntries: number; largeEntries: number; smallRss: number; largeRss: number; bytesPerFlow: number;
    /** FlowTable::MemoryBytes as the large run's worker reported it */
    reportedBytes: number;
  };
  /** Whole-process resident sets as deployed: the pcap read once, the default pool, 4 KiB pages. */
  deployed: { flows: number; rssBytes: number; smallTableRssBytes: number };
  commands: string[];
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
    const c = benchConfig({ device: replayDevice(pcap), entriesPerLcore: LARGE, preload: flows,
      hugepages: false /* RSS does not count hugetlbfs pages */ }) as {
      flowTable: { entriesPerLcore: number };
    };
    c.flowTable.entriesPerLcore = entries;
    const cfg = writeConfig(`memory-${entries}.json`, c);
    // The large table is filled: every flow inserted before the RSS is read.
    const warm = entries === LARGE ? LARGE : SMALL;
    const result = await run(cfg, warm);
    rss.push(result.rssBytes);
    if (entries === LARGE) reportedBytes = result.after.memoryBytes;
    commands.push(command(cfg, warm));
  }
  const deployedRss: number[] = [];
  for (const entries of [SMALL, LARGE]) {
    const c = benchConfig({ device: `net_pcap0,rx_pcap=${pcap}`, entriesPerLcore: entries, preload: 0, hugepages: false }) as {
      dataplane: { mbufsPerSocket?: number };
    };
    delete c.dataplane.mbufsPerSocket;
    const cfg = writeConfig(`memory-deployed-${entries}.json`, c);
    // Every frame of the pcap is a new flow: the large table ends up holding all of them.
    const warm = entries === LARGE ? LARGE : SMALL;
    deployedRss.push((await run(cfg, warm)).rssBytes);
    commands.push(command(cfg, warm));
  }
  return {
    measured: { smallEntries: SMALL, largeEntries: LARGE, smallRss: rss[0], largeRss: rss[1],
      bytesPerFlow: (rss[1] - rss[0]) / (LARGE - SMALL), reportedBytes },
    deployed: { flows: LARGE, rssBytes: deployedRss[1], smallTableRssBytes: deployedRss[0] },
    commands,
  };
}
