// `sluice check --config FILE` (and `sluice run --check`): every problem of a
// config file in one pass, the state file `run` would restore checked against
// it, and which of the two `run` would take the services from. Starts nothing.
import { readFileSync } from 'node:fs';
import { parseConfigText, type SluiceConfig } from '../config';
import { describeDiff, diffServices, type ServicesDiff } from '../config/diff';
import { checkConfig } from '../config/load';
import { memoryProblems } from '../config/memory';
import { StateFile } from '../control/state-file';
import { ServiceStore } from '../control/store';
import type { ConfigProblem } from '../errors';

export interface CheckProblem extends ConfigProblem {
  /** read: the file itself; schema: a field's shape or range; rule: between fields; limit: the memory budget; state: the state file */
  kind: 'read' | 'schema' | 'rule' | 'limit' | 'state';
}

export interface StateCheck {
  /** the config's stateFile, if any */
  file?: string;
  /** where `sluice run` would take its services from */
  uses: 'stateFile' | 'config';
  /** the state file's services against the config file's, when it exists and is valid */
  diff?: ServicesDiff;
  services?: number;
  backends?: number;
}

export interface CheckReport {
  file: string;
  valid: boolean;
  problems: CheckProblem[];
  /** false when schema problems left too little to check the rules between fields (fix those, check again) */
  rulesChecked: boolean;
  summary?: { ports: number; services: number; backends: number };
  /** absent while the config itself is invalid: the state file is checked against a valid config only */
  state?: StateCheck;
}

const backendsOf = (services: SluiceConfig['services']) => services.reduce((n, s) => n + s.backends.length, 0);

/** Never throws for the file's own faults: they are problems of the report. */
export function checkFile(file: string): CheckReport {
  let raw: unknown;
  try {
    raw = parseConfigText(readFileSync(file, 'utf8'), file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code === undefined || e.code.startsWith('SLUICE_') ? e.message : `cannot read config file: ${e.message}`;
    return { file, valid: false, rulesChecked: false, problems: [{ path: 'config', reason, kind: 'read' }] };
  }
  const checked = checkConfig(raw);
  const problems: CheckProblem[] = checked.problems.map((p, i) => ({ ...p, kind: i < checked.schemaCount ? 'schema' : 'rule' }));
  const cfg = checked.config;
  if (cfg === undefined) return { file, valid: false, rulesChecked: checked.rulesChecked, problems };
  problems.push(...memoryProblems(cfg).map((p) => ({ ...p, kind: 'limit' as const })));
  const state = checkState(cfg, problems);
  return {
    file,
    valid: problems.length === 0,
    rulesChecked: true,
    problems,
    summary: { ports: cfg.ports.length, services: cfg.services.length, backends: backendsOf(cfg.services) },
    state,
  };
}

/** The state file as a start would read it (ServiceStore's own check); its problems are added to `problems`. */
function checkState(cfg: SluiceConfig, problems: CheckProblem[]): StateCheck {
  if (cfg.stateFile === undefined) return { uses: 'config' };
  let saved;
  try {
    saved = ServiceStore.savedServices(cfg, new StateFile(cfg.stateFile));
  } catch (err) {
    const e = err as Error & { details?: unknown };
    const details = Array.isArray(e.details) ? (e.details as ConfigProblem[]) : [];
    if (details.length === 0) problems.push({ path: 'stateFile', reason: e.message, kind: 'state' });
    for (const d of details) problems.push({ path: `stateFile:${d.path}`, reason: d.reason, kind: 'state' });
    return { file: cfg.stateFile, uses: 'stateFile' };
  }
  if (saved === undefined) return { file: cfg.stateFile, uses: 'config' };
  return { file: cfg.stateFile, uses: 'stateFile', diff: diffServices(cfg.services, saved), services: saved.length, backends: backendsOf(saved) };
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/** What `sluice run` would take its services from, in words. */
export function describeState(state: StateCheck | undefined): string {
  if (state === undefined) return '';
  if (state.file === undefined) return 'sluice run would use the config file\'s services (no stateFile)';
  if (state.uses === 'config') return `sluice run would use the config file's services (no state file at ${state.file} yet)`;
  if (state.diff === undefined) return `sluice run would refuse the state file ${state.file}`;
  const d = state.diff;
  const same = d.added.length + d.removed.length + d.changed.length === 0;
  return `sluice run would use the state file ${state.file} (${count(state.services ?? 0, 'service')}, ` +
    `${count(state.backends ?? 0, 'backend')}; ${same ? 'the same services as the config file' : `differs from the config file: ${describeDiff(d)}`})`;
}

/** Text for people (one `path: reason` line per problem, then a summary line), or JSON; returns the exit code. */
export function printCheck(report: CheckReport, json: boolean, print: (text: string) => void): number {
  if (json) {
    print(JSON.stringify(report, null, 2));
    return report.valid ? 0 : 1;
  }
  for (const p of report.problems) print(`${p.path}: ${p.reason}`);
  if (report.valid) {
    const s = report.summary!;
    print(`${report.file}: valid: ${count(s.ports, 'port')}, ${count(s.services, 'service')}, ${count(s.backends, 'backend')}; ${describeState(report.state)}`);
    return 0;
  }
  const more = report.rulesChecked ? '' : ' (the rules between fields were not checked: they rest on what failed; check again once fixed)';
  const state = report.state === undefined ? '' : `; ${describeState(report.state)}`;
  print(`${report.file}: invalid: ${count(report.problems.length, 'problem')}${more}${state}`);
  return 1;
}
