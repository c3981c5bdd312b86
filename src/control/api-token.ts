// The API's bearer token, from a file or an environment variable named in the
// config. A configured source that yields nothing is an error: silently running
// without auth would be worse.
import fs from 'node:fs';
import type { ApiConfig } from '../config';
import { configError } from '../errors';

export { parseListen } from '../config/listen';

/**
 * The token, or undefined when the config names no source. `warn` hears about
 * a token file others may read. The config's rules refuse tokenFile and
 * tokenEnv together; were both given anyway, that is refused here too.
 */
export function readApiToken(api: Pick<ApiConfig, 'tokenFile' | 'tokenEnv'>, env: NodeJS.ProcessEnv = process.env,
                             warn: (message: string) => void = () => undefined): string | undefined {
  if (api.tokenFile !== undefined && api.tokenEnv !== undefined) {
    throw configError('api', 'tokenFile and tokenEnv are both set; give one of them');
  }
  if (api.tokenFile !== undefined) {
    let token: string;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(api.tokenFile);
      // A FIFO would block the start until something writes to it.
      if (!stat.isFile()) throw configError('api.tokenFile', `${api.tokenFile} is not a regular file`);
      token = fs.readFileSync(api.tokenFile, 'utf8').trim();
    } catch (err) {
      if ((err as { code?: unknown }).code === 'SLUICE_CONFIG_INVALID') throw err;
      throw configError('api.tokenFile', `cannot read ${api.tokenFile}: ${(err as Error).message}`);
    }
    const mode = stat.mode;
    if (token === '') throw configError('api.tokenFile', `${api.tokenFile} is empty`);
    if ((mode & 0o004) !== 0) {
      warn(`api.tokenFile ${api.tokenFile} is readable by every user (mode ${(mode & 0o777).toString(8).padStart(3, '0')}); ` +
        `chmod 600 it`);
    }
    return token;
  }
  if (api.tokenEnv !== undefined) {
    const token = env[api.tokenEnv]?.trim();
    if (!token) throw configError('api.tokenEnv', `environment variable ${api.tokenEnv} is not set or empty`);
    return token;
  }
  return undefined;
}
