// The state file: every accepted change, written so that a crash at any moment
// leaves either the old or the new file, never a mix (temp file, fsync, rename,
// fsync of the directory).
import fs from 'node:fs';
import path from 'node:path';
import { SluiceError } from '../errors';
import type { ServiceConfig } from '../config';
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
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new SluiceError('SLUICE_STATE_READ', `${this.file}: ${(err as Error).message}`);
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
    const doc: StateDocument = { version: STATE_VERSION, savedAt: new Date().toISOString(), services: [...services] };
    const dir = path.dirname(this.file);
    const tmp = path.join(dir, `.${path.basename(this.file)}.${process.pid}.tmp`);
    try {
      fs.mkdirSync(dir, { recursive: true });
      const fd = fs.openSync(tmp, 'w', 0o600);
      try {
        fs.writeFileSync(fd, `${JSON.stringify(doc, null, 2)}\n`);
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
}
