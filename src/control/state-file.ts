// The state file: every accepted change, written so that a crash at any moment
// leaves either the old or the new state, never a mix. A group of changes is
// appended to the journal beside it (`<stateFile>.journal`, state-journal.ts)
// with one fdatasync; the whole file is written (temp file, fsync, rename,
// fsync of the directory) at the first write of a process, when a change
// cannot be written as ops, and when the journal has grown past its limit
// (a compaction, after which the journal starts again).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { SluiceError } from '../errors';
import type { BackendConfig, ServiceConfig } from '../config';
import { RENAMED_FIELDS } from '../config/renamed-fields';
import { journalHeader, journalOps, replayJournal } from './state-journal';

export const STATE_VERSION = 1;

export interface StateDocument {
  version: typeof STATE_VERSION;
  savedAt: string;
  services: ServiceConfig[];
}

/**
 * A service as an older Sluice wrote it, with its renamed fields under their
 * new names: the file is Sluice's own, so a restart after an upgrade keeps the
 * services rather than refusing them (a config file or request is refused).
 */
function renameFields(service: unknown): unknown {
  if (service === null || typeof service !== 'object' || Array.isArray(service)) return service;
  const out: Record<string, unknown> = { ...(service as Record<string, unknown>) };
  for (const [old, now] of Object.entries(RENAMED_FIELDS)) {
    if (old in out && !(now in out)) {
      out[now] = out[old];
      delete out[old];
    }
  }
  return out;
}

/** When the journal is folded into a full write of the state file. */
export interface JournalLimits {
  /** bytes of journal beyond which the state file is written whole: at least this, or the state file's size */
  bytes: number;
  /** groups beyond which it is */
  groups: number;
}

export const DEFAULT_JOURNAL_LIMITS: JournalLimits = { bytes: 4 << 20, groups: 4096 };

export class StateFile {
  readonly journal: string;
  /** what the state file and its journal hold together, once this process has written them whole */
  private disk: readonly ServiceConfig[] | undefined;
  /** the state file's savedAt: the journal's base */
  private base: string | undefined;
  /** savedAt values a new state file must not take: a stale journal may still name them */
  private readonly usedBases = new Set<string>();
  private journalFh: fsp.FileHandle | undefined;
  /** the savedAt of the text serialize() made last */
  private savedAt = '';
  private journalBytes = 0;
  private journalGroups = 0;
  private stateBytes = 0;
  /** a compaction started after the group that passed the limit was acknowledged */
  private compaction: Promise<void> | undefined;
  /** groups written to the journal and whole writes, since this object was made (tests, benchmarks) */
  readonly counts = { appends: 0, fullWrites: 0 };

  constructor(readonly file: string, private readonly limits: JournalLimits = DEFAULT_JOURNAL_LIMITS) {
    this.journal = `${file}.journal`;
  }

  /** undefined when there is no state yet; throws SLUICE_STATE_READ when it exists but is unusable. */
  read(): unknown[] | undefined {
    let text: string;
    let fd: number;
    try {
      // Non-blocking, so that a FIFO opens at once (rather than waiting for a
      // writer) and is refused below; a regular file reads as usual.
      fd = fs.openSync(this.file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // No state file: a journal beside it is an orphan, ignored; only its base is noted.
        try {
          this.readJournal();
        } catch {
          // The first write removes it.
        }
        return undefined;
      }
      throw new SluiceError('SLUICE_STATE_READ', `${this.file}: ${(err as Error).message}`);
    }
    try {
      if (!fs.fstatSync(fd).isFile()) {
        throw new SluiceError('SLUICE_STATE_READ', `${this.file}: not a regular file; stateFile must name a file`);
      }
      text = fs.readFileSync(fd, 'utf8');
    } catch (err) {
      if (err instanceof SluiceError) throw err;
      throw new SluiceError('SLUICE_STATE_READ', `${this.file}: ${(err as Error).message}`);
    } finally {
      fs.closeSync(fd);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new SluiceError('SLUICE_STATE_READ', `${this.file}: not JSON: ${(err as Error).message}`);
    }
    const d = doc as Partial<StateDocument> | null;
    if (d === null || typeof d !== 'object' || d.version !== STATE_VERSION || !Array.isArray(d.services)) {
      throw new SluiceError('SLUICE_STATE_READ', `${this.file}: not a version ${STATE_VERSION} Sluice state file`);
    }
    let services: unknown[] = d.services;
    if (typeof d.savedAt === 'string') this.usedBases.add(d.savedAt);
    const journal = this.readJournal();
    if (journal !== undefined && typeof d.savedAt === 'string') {
      const replayed = replayJournal(this.journal, journal, d.savedAt, services);
      if (replayed !== undefined) services = replayed.services;
    }
    return services.map(renameFields);
  }

  /** The journal's text, or undefined when there is none; its base is remembered (see usedBases). */
  private readJournal(): string | undefined {
    let text: string;
    try {
      const fd = fs.openSync(this.journal, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
      try {
        if (!fs.fstatSync(fd).isFile()) {
          throw new SluiceError('SLUICE_STATE_READ', `${this.journal}: not a regular file`);
        }
        text = fs.readFileSync(fd, 'utf8');
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      if (err instanceof SluiceError) throw err;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SluiceError('SLUICE_STATE_READ', `${this.journal}: ${(err as Error).message}`);
    }
    const m = /^\{"sluiceJournal":\d+,"base":("(?:[^"\\]|\\.)*")\}/.exec(text);
    if (m) this.usedBases.add(JSON.parse(m[1]) as string);
    return text;
  }

  /**
   * A group's services on disk, without blocking the event loop (libuv's thread
   * pool): what changed since the last group appended to the journal, or the
   * whole file written (temp file, fsync, rename, directory fsync). The caller
   * runs at most one at a time (the store groups changes behind the one in
   * flight): they share the temp file and the journal.
   */
  async writeAsync(services: readonly ServiceConfig[]): Promise<void> {
    if (this.compaction !== undefined) await this.compaction;
    const disk = this.disk;
    const ops = disk === undefined ? undefined : journalOps(disk, services);
    if (ops === undefined) {
      await this.writeWhole(services);
      return;
    }
    if (ops.length > 0) await this.append(`${JSON.stringify(ops)}\n`);
    this.disk = services;
    if (this.journalBytes > Math.max(this.limits.bytes, this.stateBytes) || this.journalGroups > this.limits.groups) {
      // The group is acknowledged now; the next waits for the fold (compaction).
      this.compaction = this.writeWhole(services).catch(() => undefined).finally(() => {
        this.compaction = undefined;
      });
    }
  }

  /** One group's line appended to the journal (made with its header when there is none), then fdatasync. */
  private async append(line: string): Promise<void> {
    const start = this.journalBytes;
    try {
      let fh = this.journalFh;
      let text = line;
      if (fh === undefined) {
        fh = await fsp.open(this.journal, 'w', 0o600);
        this.journalFh = fh;
        text = journalHeader(this.base!) + line;
      }
      const bytes = Buffer.from(text, 'utf8');
      const { bytesWritten } = await fh.write(bytes, 0, bytes.length, null);
      if (bytesWritten !== bytes.length) throw new Error(`wrote ${bytesWritten} of ${bytes.length} bytes`);
      await fh.datasync();
      if (start === 0) {
        // A new journal's directory entry must be on disk before its groups count.
        await this.syncDir();
      }
      this.journalBytes += bytes.length;
      this.journalGroups++;
      this.counts.appends++;
    } catch (err) {
      // What this process holds on disk is now uncertain: the next group writes the state whole.
      // The refused group's line must not be replayed: cut it off, or drop a journal it began.
      this.disk = undefined;
      if (start > 0) {
        await this.journalFh?.truncate(start).catch(() => undefined);
      } else {
        const fh = this.journalFh;
        this.journalFh = undefined;
        await fh?.close().catch(() => undefined);
        await fsp.rm(this.journal, { force: true }).catch(() => undefined);
      }
      throw new SluiceError('SLUICE_STATE_WRITE', `${this.journal}: ${(err as Error).message}`);
    }
  }

  private async syncDir(): Promise<void> {
    const dirFh = await fsp.open(path.dirname(this.file), 'r');
    try {
      await dirFh.sync();
    } finally {
      await dirFh.close();
    }
  }

  /** Closes the journal (the daemon's stop); a later write reopens it whole. */
  async close(): Promise<void> {
    if (this.compaction !== undefined) await this.compaction;
    const fh = this.journalFh;
    this.journalFh = undefined;
    this.disk = undefined;
    await fh?.close().catch(() => undefined);
  }

  /**
   * The state file written whole, then the journal removed: once the new file is
   * in place, the journal names a base no state file has, and would be ignored
   * even if a crash kept it.
   */
  private async writeWhole(services: readonly ServiceConfig[]): Promise<void> {
    this.disk = undefined;
    const text = this.serialize(services);
    const dir = path.dirname(this.file);
    const tmp = this.tempFile(process.pid);
    try {
      await fsp.mkdir(dir, { recursive: true });
      const fh = await fsp.open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, this.file);
      await this.syncDir();
      const journal = this.journalFh;
      this.journalFh = undefined;
      await journal?.close().catch(() => undefined);
      await fsp.rm(this.journal, { force: true });
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw new SluiceError('SLUICE_STATE_WRITE', `${this.file}: ${(err as Error).message}`);
    }
    this.base = this.savedAt;
    this.usedBases.add(this.savedAt);
    this.stateBytes = Buffer.byteLength(text);
    this.journalBytes = 0;
    this.journalGroups = 0;
    this.disk = services;
    this.counts.fullWrites++;
  }

  /**
   * Removes temp files a Sluice killed mid-write (kill -9, power loss) left next
   * to the state file: ".<name>.<pid>.tmp" of this process or of a pid no longer
   * running. A live process's temp file is left alone: it may be writing it.
   * Returns the paths removed. Call at start, before the first write.
   */
  removeOrphanedTemps(): string[] {
    const dir = path.dirname(this.file);
    const prefix = `.${path.basename(this.file)}.`;
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return [];
    }
    const removed: string[] = [];
    for (const name of names) {
      if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
      const pid = name.slice(prefix.length, -'.tmp'.length);
      if (!/^[1-9][0-9]{0,9}$/.test(pid) || (Number(pid) !== process.pid && isRunning(Number(pid)))) continue;
      const file = path.join(dir, name);
      try {
        fs.rmSync(file, { force: true });
        removed.push(file);
      } catch {
        // Not ours to fight over (permissions): the next start tries again.
      }
    }
    return removed;
  }

  private tempFile(pid: number): string {
    return path.join(path.dirname(this.file), `.${path.basename(this.file)}.${pid}.tmp`);
  }

  /**
   * JSON.stringify(doc, null, 2) of the document, each service's text made once
   * per (never changed) service object: a group's write costs the services its
   * changes touched, not a new text of every backend.
   */
  private serialize(services: readonly ServiceConfig[]): string {
    // The journal is known by its state file's savedAt: a new file never takes one a journal may still name.
    let at = Date.now();
    while (this.usedBases.has(new Date(at).toISOString())) at++;
    this.savedAt = new Date(at).toISOString();
    const doc: StateDocument = { version: STATE_VERSION, savedAt: this.savedAt, services: [] };
    const head = JSON.stringify(doc, null, 2);
    if (services.length === 0) return `${head}\n`;
    const list = services.map(serviceText).join(',\n');
    return `${head.slice(0, head.length - '[]\n}'.length)}[\n${list}\n  ]\n}\n`;
  }
}

const serviceTexts = new WeakMap<ServiceConfig, string>();
const backendTexts = new WeakMap<BackendConfig, string>();

/** Stands for the backends list in a service's text: JSON.stringify writes it as "\u0001", which no string it escapes becomes. */
const BACKENDS = '\u0001';
const BACKENDS_JSON = JSON.stringify(BACKENDS);

/**
 * A service as JSON.stringify(doc, null, 2) writes it inside the document's
 * services list, its backends each written once per (never changed) backend
 * object: a change of one backend of thousands writes that one anew, and the
 * others' texts are joined.
 */
function serviceText(s: ServiceConfig): string {
  let text = serviceTexts.get(s);
  if (text === undefined) {
    const shell = indent(JSON.stringify({ ...s, backends: BACKENDS }, null, 2), '    ');
    const list = s.backends.length === 0 ? '[]' : `[\n${s.backends.map(backendText).join(',\n')}\n      ]`;
    const at = shell.indexOf(BACKENDS_JSON);
    text = shell.slice(0, at) + list + shell.slice(at + BACKENDS_JSON.length);
    serviceTexts.set(s, text);
  }
  return text;
}

/** A backend as it stands in its service's list in the state file: eight spaces in. */
function backendText(b: BackendConfig): string {
  let text = backendTexts.get(b);
  if (text === undefined) {
    text = indent(JSON.stringify(b, null, 2), '        ');
    backendTexts.set(b, text);
  }
  return text;
}

function indent(text: string, by: string): string {
  return by + text.replaceAll('\n', `\n${by}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
