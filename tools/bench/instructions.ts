// Instructions per packet of the per-packet path alone (scripts/count-instructions.sh:
// native/bench/burst_bench under callgrind). Unlike Mpps on a small shared machine,
// the count is the same on every run, so it shows what a data-path change costs.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');

export interface InstructionRow {
  mode: 'dsr' | 'tunnel' | 'nat';
  family: 4 | 6;
  /** IPv4 header checksum marked good by the NIC (rx offload) rather than verified in software */
  offload: boolean;
  flows: number;
  instructionsPerPacket: number;
  command: string;
}

/** The path each data-path change is counted on: every mode at 1K flows, dsr at 1M, IPv6 dsr and tunnel. */
const RUNS: { mode: InstructionRow['mode']; family: 4 | 6; offload: boolean; flows: number; rounds: number }[] = [
  ...(['dsr', 'tunnel', 'nat'] as const).flatMap((mode) =>
    [false, true].map((offload) => ({ mode, family: 4 as const, offload, flows: 1024, rounds: 100 }))),
  // The insert round and two warm ones: at 1M flows the table is out of cache.
  { mode: 'dsr', family: 4, offload: false, flows: 1048576, rounds: 2 },
  { mode: 'dsr', family: 6, offload: false, flows: 1024, rounds: 100 },
  { mode: 'tunnel', family: 6, offload: false, flows: 1024, rounds: 100 },
];

export function instructionCounts(): InstructionRow[] {
  return RUNS.map(({ mode, family, offload, flows, rounds }) => {
    const args = ['--mode', mode, ...(offload ? ['--offload'] : []), ...(family === 6 ? ['--family', '6'] : []),
      ...(flows === 1024 ? [] : ['--flows', String(flows), '--rounds', String(rounds)])];
    const out = execFileSync('bash', ['scripts/count-instructions.sh', ...args], { cwd: ROOT, encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop()!) as { packets: number; instructionsPerPacket: number };
    return { mode, family, offload, flows, instructionsPerPacket: r.instructionsPerPacket,
      command: `bash scripts/count-instructions.sh ${args.join(' ')}` };
  });
}
