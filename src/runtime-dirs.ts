// The EAL keeps a runtime directory per instance (/var/run/dpdk/<file prefix>,
// holding the telemetry socket). A clean stop removes it; a process killed with
// SIGKILL cannot, so each start removes those whose owner is gone. Sluice's
// prefixes end with the owning process id: sluice-<pid> or sluice-<name>-<pid>.
import fs from 'node:fs';
import path from 'node:path';

export const DPDK_RUNTIME_ROOT = '/var/run/dpdk';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes runtime directories of Sluice instances whose process no longer exists; returns their names. */
export function removeStaleRuntimeDirs(root = DPDK_RUNTIME_ROOT): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of entries) {
    const m = /^sluice-(?:[A-Za-z0-9_]+-)*(\d+)$/.exec(name);
    if (m === null || alive(Number(m[1]))) continue;
    fs.rmSync(path.join(root, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
