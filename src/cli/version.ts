// `sluice --version` (this CLI's package version) and `sluice version` (that,
// and the version a running daemon reports, if one answers). The API has no
// version route: the daemon states its version as sluice_build_info{version}
// on GET /metrics, which is what is read here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ApiClient, CliError } from './api-client';
import type { Output } from './commands';

/** package.json's version: dist/src/cli/version.js is three levels below it. */
export function cliVersion(): string {
  return (JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** How long `sluice version` waits for a daemon before saying none answers. */
export const DAEMON_VERSION_TIMEOUT_MS = 2000;

export interface DaemonVersion {
  api: string;
  version?: string;
  /** why there is no version: not reachable, refused, or not stated */
  error?: string;
}

export async function daemonVersion(api: ApiClient): Promise<DaemonVersion> {
  try {
    const text = await api.text('/metrics', { timeoutMs: DAEMON_VERSION_TIMEOUT_MS });
    const version = /^sluice_build_info\{[^}]*version="([^"]*)"[^}]*\}/m.exec(text)?.[1];
    return version === undefined ? { api: api.base, error: 'its metrics state no version' } : { api: api.base, version };
  } catch (err) {
    if (err instanceof CliError) return { api: api.base, error: err.message.split('; ')[0] };
    throw err;
  }
}

/** Never fails for want of a daemon: its line says why there is no version. */
export async function version(api: ApiClient, out: Output): Promise<void> {
  const cli = cliVersion();
  const daemon = await daemonVersion(api);
  out.print(out.json ? JSON.stringify({ cli, daemon }, null, 2) : [
    `sluice ${cli} (this CLI)`,
    daemon.version === undefined ? `daemon: none with a version at ${daemon.api}: ${daemon.error}` : `sluice ${daemon.version} (the daemon at ${daemon.api})`,
  ].join('\n'));
}
