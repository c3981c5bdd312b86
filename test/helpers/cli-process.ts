// The CLI run as its own process against an API this test process serves (never
// spawnSync: the API would not answer while this process waits).
import { execFile } from 'node:child_process';
import path from 'node:path';

export const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');

export interface CliResult { status: number; stdout: string; stderr: string }

export function cliAt(url: string, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args, '--api', url], { encoding: 'utf8', env: { ...process.env, SLUICE_TOKEN: '' } },
      (err, stdout, stderr) => resolve({ status: err ? (err as { code: number }).code : 0, stdout, stderr }));
  });
}
