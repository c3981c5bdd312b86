// The DPDK --lcores syntax, parsed so the control plane knows which lcore is the
// main one and which are workers before the EAL sees the string:
//   lcores := group (',' group)*
//   group  := set ('@' set)?          (without '@' each lcore runs on the cpu of its id)
//   set    := item | '(' item (',' item)* ')'
//   item   := number | number '-' number
// Lcore ids come back in the order written: the first is the main lcore (the
// EAL args pin it with --main-lcore, because DPDK would otherwise pick the lowest).
import { configError } from '../errors';

/** RTE_MAX_LCORE in the default DPDK build. */
export const MAX_LCORE_ID = 127;
/** CPU_SETSIZE: the EAL rejects cpu ids at or above it. */
const MAX_CPU_ID = 1023;

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  skipBlanks(): void {
    while (this.text[this.pos] === ' ' || this.text[this.pos] === '\t') this.pos++;
  }

  peek(): string | undefined {
    this.skipBlanks();
    return this.text[this.pos];
  }

  eat(ch: string): boolean {
    if (this.peek() !== ch) return false;
    this.pos++;
    return true;
  }

  fail(expected: string): never {
    const found = this.pos < this.text.length ? `"${this.text[this.pos]}"` : 'end of string';
    throw new Error(`expected ${expected} at offset ${this.pos} of "${this.text}", found ${found}`);
  }

  number(what: string, max: number): number {
    this.skipBlanks();
    const m = /^[0-9]+/.exec(this.text.slice(this.pos));
    if (m === null) this.fail(`${what} number`);
    this.pos += m[0].length;
    const n = Number(m[0]);
    if (n > max) throw new Error(`${what} ${m[0]} is out of range (must be <= ${max})`);
    return n;
  }
}

function item(sc: Scanner, what: string, max: number, out: number[]): void {
  const first = sc.number(what, max);
  if (!sc.eat('-')) {
    out.push(first);
    return;
  }
  const last = sc.number(what, max);
  if (last < first) throw new Error(`${what} range ${first}-${last} runs backwards`);
  for (let n = first; n <= last; n++) out.push(n);
}

function set(sc: Scanner, what: string, max: number): number[] {
  const out: number[] = [];
  if (!sc.eat('(')) {
    item(sc, what, max, out);
    return out;
  }
  do item(sc, what, max, out);
  while (sc.eat(','));
  if (!sc.eat(')')) sc.fail('"," or ")"');
  return out;
}

/** One group of the string: lcores and the CPUs they run on (without '@', the CPUs of the lcores' ids). */
export interface LcoreGroup {
  lcores: number[];
  cpus: number[];
}

/** Throws SLUICE_CONFIG_INVALID at `path` on bad syntax, ids out of range or a repeated lcore. */
export function parseLcoreGroups(text: string, path = 'eal.lcores'): LcoreGroup[] {
  const sc = new Scanner(text);
  const groups: LcoreGroup[] = [];
  try {
    if (sc.peek() === undefined) throw new Error('is empty');
    do {
      const lcores = set(sc, 'lcore', MAX_LCORE_ID);
      groups.push({ lcores, cpus: sc.eat('@') ? set(sc, 'cpu', MAX_CPU_ID) : lcores });
    } while (sc.eat(','));
    if (sc.peek() !== undefined) sc.fail('"," or "@"');
  } catch (err) {
    throw configError(path, (err as Error).message);
  }
  const seen = new Set<number>();
  for (const id of groups.flatMap((g) => g.lcores)) {
    if (seen.has(id)) throw configError(path, `lcore ${id} appears more than once`);
    seen.add(id);
  }
  return groups;
}

/** The lcore ids in the order written; throws as parseLcoreGroups. */
export function parseLcores(text: string, path = 'eal.lcores'): number[] {
  return parseLcoreGroups(text, path).flatMap((g) => g.lcores);
}
