// argv for rte_eal_init. The EAL gets only the devices the config names: vdevs by
// spec, PCI devices by allow-list, and --no-pci when there are none, so it never
// probes a NIC it was not given.
import { SluiceError } from '../errors';
import { parseDevice } from './device';
import { parseLcores } from './lcores';
import type { SluiceConfig } from './schema';

function memoryArgs(cfg: SluiceConfig, instanceId: string): string[] {
  // --in-memory keeps no hugepage files; without -m memory grows on demand. The
  // prefix still names the runtime directory that holds the telemetry socket
  // (dpdk-telemetry.py -f sluice-<id>), so each instance gets its own.
  if (cfg.eal.hugepages) return ['--in-memory', '--file-prefix', `sluice-${instanceId}`];
  // DPDK 22.11 rejects --in-memory with --no-huge; a per-instance prefix keeps
  // concurrent instances (tests) apart instead.
  return ['--no-huge', '-m', String(cfg.eal.memoryMb), '--no-shconf', '--file-prefix', `sluice-${instanceId}`];
}

function deviceArgs(cfg: SluiceConfig): string[] {
  const args: string[] = [];
  let anyPci = false;
  for (const port of cfg.ports) {
    const d = parseDevice(port.device);
    if (d?.kind === 'vdev') args.push('--vdev', d.spec);
    if (d?.kind === 'pci') {
      args.push('-a', d.address);
      anyPci = true;
    }
  }
  if (!anyPci) args.push('--no-pci');
  return args;
}

/** `cfg` must be validated. `instanceId` only names runtime files, so it must be unique per live process. */
export function buildEalArgs(cfg: SluiceConfig, instanceId: string): string[] {
  // It becomes part of a file name under /var/run/dpdk.
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(instanceId)) {
    throw new SluiceError('SLUICE_INVALID_ARGUMENT', `instance id "${instanceId}" must be 1 to 64 of A-Z a-z 0-9 _ -`);
  }
  // DPDK makes the lowest lcore id the main one; the config promises the first written.
  const main = parseLcores(cfg.eal.lcores)[0];
  return [
    'sluice',
    // parseLcores allows blanks between tokens; the EAL's parser does not everywhere.
    '--lcores', cfg.eal.lcores.replace(/\s+/g, ''),
    '--main-lcore', String(main),
    ...memoryArgs(cfg, instanceId),
    ...deviceArgs(cfg),
    '--log-level', 'lib.eal:notice',
    ...cfg.eal.extraArgs,
  ];
}
