// The state file: every accepted change, written so that a crash at any moment
// leaves either the old or the new file, never a mix (temp file, fsync, rename,
// fsync of the directory).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { SluiceError } from '../errors';
import type { BackendConfig, ServiceConfig } from '../config';
import { RENAMED_FIELDS } from '../config/renamed-fields';

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

export class StateFile {
  constructor(readonly file: string) {}

  /** undefined when there is no state yet; throws SLUICE_STATE_READ when it exists but is unusable. */
  read(): unknown[] | undefined {
    let text: string;
    let fd: number;
    try {
      // Non-blocking, so that a FIFO opens at once (rather than waiting for a
      // writer) and is refused below; a regular file reads as usual.
      fd = fs.openSync(this.file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
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
    return d.services.map(renameFields);
  }

  write(services: readonly ServiceConfig[]): void {
    const dir = path.dirname(this.file);
    const tmp = this.tempFile(process.pid);
    try {
      fs.mkdirSync(dir, { recursive: true });
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        fs.writeFileSync(fd, this.serialize(services));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.file);
      // The rename itself is durable only once the directory entry is.
      const dirFd = fs.openSync(dir, 'r');
      try {
        fs.fsyncSync(dirFd);
      } finally {
        fs.closeSync(dirFd);
      }
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw new SluiceError('SLUICE_STATE_WRITE', `${this.file}: ${(err as Error).message}`);
    }
  }

  /**
   * write() without blocking the event loop: the same temp file, fsync, rename
   * and directory fsync, through libuv's thread pool. The caller runs at most one
   * at a time (the store groups changes behind the one in flight): they share the temp file.
   */
  async writeAsync(services: readonly ServiceConfig[]): Promise<void> {
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
      const dirFh = await fsp.open(dir, 'r');
      try {
        await dirFh.sync();
      } finally {
        await dirFh.close();
      }
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      throw new SluiceError('SLUICE_STATE_WRITE', `${this.file}: ${(err as Error).message}`);
    }
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
    const doc: StateDocument = { version: STATE_VERSION, savedAt: new Date().toISOString(), services: [] };
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
