// The shape of one benchmark run's results: what main.ts measures and writes to
// bench-results.json, and what report.ts renders into BENCHMARKS.md. Its own
// file so that neither of the two imports the other.
import type { ControlPlaneResult } from './control-plane';
import type { FlowMemory } from './flow-memory';
import type { InstructionRow } from './instructions';
import type { IsolationResult } from './isolation';
import type { TableBuild, TableRemap } from './lookup-table';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  dpdk: string;
  node: string;
}

export interface ThroughputRow {
  mode: 'dsr' | 'tunnel' | 'nat';
  flows: number;
  sluiceMpps: number;
  testpmdMpps: number;
  ratio: number;
  /** testpmd rxonly on the same pcap: what receiving and freeing alone costs */
  rxonlyMpps: number;
  /** native/bench/table_ceiling on the same pcap: the flow table and a MAC rewrite, nothing else */
  tableOnlyMpps: number;
  /**
   * table_ceiling --floor: one random line read per packet in the table's place,
   * what any table costs at least; absent in results written before it was run
   */
  lineFloorMpps?: number;
  /** the same without the table: a MAC rewrite and nothing else */
  statelessMpps: number;
  /**
   * Sluice's worker timed itself: ns per packet in receive calls (the PMD) and
   * in processing what they returned (Sluice's own work), medians over rounds.
   */
  receiveNs: number;
  processNs: number;
  /** Each round's figures, measured back to back; the fields above are their medians. */
  rounds: {
    sluiceMpps: number; testpmdMpps: number; rxonlyMpps: number; tableOnlyMpps: number; statelessMpps: number;
    lineFloorMpps?: number;
    receiveNs: number; processNs: number;
  }[];
  sluiceHits: number;
  sluiceMisses: number;
  sluiceDrops: number;
  warmSec: number;
  sluiceCommand: string;
  testpmdCommand: string;
  testpmdSamples: number[];
}

/**
 * dsr on a pcap of few flows repeated to as many frames as the largest run's:
 * the PMD replays as many mbufs as there, the flow table holds few flows. Between
 * the smallest run, this one and the largest, it tells what many frames cost
 * (the PMD) from what many flows cost (the flow table).
 */
export interface FrameSplitRow {
  flows: number;
  frames: number;
  sluiceMpps: number;
  receiveNs: number;
  processNs: number;
  rounds: { sluiceMpps: number; receiveNs: number; processNs: number }[];
  command: string;
}

/** One round of the flow-count sweep (sweep.ts), its runs back to back. */
export interface SweepRound {
  testpmdMpps: number;
  tableOnlyMpps: number;
  /** Sluice's rate in each mode, by mode (sweep.ts) */
  sluiceMpps: Record<ThroughputRow['mode'], number>;
}

export interface SweepRow {
  flows: number;
  /** medians over the rounds */
  testpmdMpps: number;
  tableOnlyMpps: number;
  sluiceMpps: Record<ThroughputRow['mode'], number>;
  /** the median of each round's ratio to testpmd */
  tableOnlyRatio: number;
  ratio: Record<ThroughputRow['mode'], number>;
  rounds: SweepRound[];
  /** one round's commands, in the order they ran */
  commands: string[];
}

/**
 * dsr with several worker lcores, each polling its own rx queue of the pcap port
 * (one pcap of a disjoint share of the flows each), beside testpmd 5tswap with as
 * many forwarding cores on the same port.
 */
export interface ScalingRow {
  workers: number;
  /** flows in all, flows / workers per lcore */
  flows: number;
  sluiceMpps: number;
  testpmdMpps: number;
  ratio: number;
  /** dsr with one worker on the same number of flows, from the throughput table */
  oneWorkerMpps: number;
  rounds: { sluiceMpps: number; testpmdMpps: number }[];
  sluiceCommand: string;
  testpmdCommand: string;
}

export interface Scaling {
  /** the machine's cores; core 0 is the main lcore's (Node) */
  cores: number;
  /** worker lcores the scaling run used: one per further core (at most 8), or --workers */
  workers: number;
  rows: ScalingRow[];
}

/** One round of the hitless benchmark: a run without changes, then one with them. */
export interface HitlessRound {
  mpps: number;
  baselineMpps: number;
  changes: number;
  packets: number;
  lost: number;
}

export interface HitlessRow {
  flows: number;
  changesPerSec: number;
  /** medians over the rounds */
  mpps: number;
  /** the same config without changes, run just before in each round */
  baselineMpps: number;
  /** the median of each round's ratio */
  ratio: number;
  rounds: HitlessRound[];
  /** changes, packets and packets lost: totals over the rounds */
  changes: number;
  packets: number;
  lost: number;
  command: string;
}

export interface NewFlowRow {
  /** flowTable.admission.newFlowsPerSec: 0 = unlimited */
  admissionPerSec: number;
  admissionRefused: number;
  distinctFlows: number;
  entriesPerLcore: number;
  mpps: number;
  insertsPerSec: number;
  missFraction: number;
  evictions: number;
  expirations: number;
  insertFailures: number;
  drops: number;
  command: string;
}

export interface BenchResults {
  date: string;
  durationSec: number;
  machine: Machine;
  hugepages: { enabled: boolean; reason: string };
  seconds: number;
  throughput: ThroughputRow[];
  sweep: SweepRow[];
  frameSplit?: FrameSplitRow;
  scaling: Scaling;
  newFlow: NewFlowRow[];
  tableBuild: TableBuild[];
  tableRemap: TableRemap[];
  instructions: InstructionRow[];
  flowMemory: FlowMemory;
  hitless: HitlessRow;
  isolation: IsolationResult;
  /** Absent in results written before the control-plane benchmark existed. */
  controlPlane?: ControlPlaneResult;
  commands: string[];
  /** The config file each sluice-run command read, by file name. */
  configs: Record<string, object>;
}
