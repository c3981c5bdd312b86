// Instructions per packet of the per-packet path alone (scripts/count-instructions.sh:
// native/bench/burst_bench under callgrind). Unlike Mpps on a small shared machine,
// the count is the same on every run, so it shows what a data-path change costs.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');

export interface InstructionRow {
  mode: 'dsr' | 'tunnel' | 'nat';
  /** IPv4 header checksum marked good by the NIC (rx offload) rather than verified in software */
  offload: boolean;
  flows: number;
  instructionsPerPacket: number;
  command: string;
}

export function instructionCounts(): InstructionRow[] {
  const rows: InstructionRow[] = [];
  for (const mode of ['dsr', 'tunnel', 'nat'] as const) {
    for (const offload of [false, true]) {
      const args = ['--mode', mode, ...(offload ? ['--offload'] : [])];
      const out = execFileSync('bash', ['scripts/count-instructions.sh', ...args], { cwd: ROOT, encoding: 'utf8' });
      const r = JSON.parse(out.trim().split('\n').pop()!) as { packets: number; instructionsPerPacket: number };
      rows.push({ mode, offload, flows: 1024, instructionsPerPacket: r.instructionsPerPacket,
        command: `bash scripts/count-instructions.sh ${args.join(' ')}` });
    }
  }
  return rows;
}
