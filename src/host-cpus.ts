// The CPUs eal.lcores puts lcores on must exist on this machine. Checked before
// rte_eal_init, which would otherwise refuse the string by printing its whole
// usage text, without naming the field. (The process's current affinity is no
// limit: the EAL sets each lcore's own, and a process inherits a narrow mask
// from whatever started it.)
import fs from 'node:fs';
import { parseLcoreGroups } from './config/lcores';
import { configErrors, type ConfigProblem } from './errors';

export interface HostCpus {
  /** whether the kernel knows CPU `id` (the EAL's own test: its topology in sysfs) */
  exists(id: number): boolean;
  /** the machine's CPUs, for messages: "0-3" */
  online: string;
}

/** [0, 1, 2, 5] -> "0-2,5" */
export function formatCpuList(ids: readonly number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export function hostCpus(): HostCpus {
  let online = 'unknown';
  try {
    online = fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  } catch {
    // Only for the message.
  }
  return {
    exists: (id) => fs.existsSync(`/sys/devices/system/cpu/cpu${id}/topology/core_id`),
    online,
  };
}

/** Throws SLUICE_CONFIG_INVALID at `path`, one problem per group of lcores on CPUs the machine lacks. */
export function checkLcoreCpus(lcores: string, host: HostCpus = hostCpus(), path = 'eal.lcores'): void {
  const problems: ConfigProblem[] = [];
  for (const g of parseLcoreGroups(lcores, path)) {
    const missing = g.cpus.filter((c) => !host.exists(c));
    if (missing.length === 0) continue;
    problems.push({ path, reason: `lcore${g.lcores.length > 1 ? 's' : ''} ${formatCpuList(g.lcores)} would run on ` +
      `CPU ${formatCpuList(missing)}, which this machine does not have (its CPUs: ${host.online})` });
  }
  if (problems.length > 0) throw configErrors(problems);
}
