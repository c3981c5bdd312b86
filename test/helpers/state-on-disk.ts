// What a state file holds with its journal replayed, as a restart would read
// it; and the text of both, for "nothing was written" comparisons.
import fs from 'node:fs';
import { StateFile } from '../../src/control/state-file';

/** The services a start would restore from `file` (its journal replayed); [] when there is no state file. */
export function servicesOnDisk<T = { name: string; backends: { address: string; port: number; weight?: number }[] }>(file: string): T[] {
  return (new StateFile(file).read() ?? []) as T[];
}

/** The state file's text and its journal's, or null when neither exists. */
export function stateTextOnDisk(file: string): string | null {
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined);
  const state = read(file);
  const journal = read(`${file}.journal`);
  return state === undefined && journal === undefined ? null : `${state ?? ''}\n--- journal ---\n${journal ?? ''}`;
}
