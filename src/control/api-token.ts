// The API's bearer token, from a file or an environment variable named in the
// config. A configured source that yields nothing is an error: silently running
// without auth would be worse.
import fs from 'node:fs';
import type { ApiConfig } from '../config';
import { configError } from '../errors';

export function readApiToken(api: ApiConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (api.tokenFile !== undefined) {
    let token: string;
    try {
      token = fs.readFileSync(api.tokenFile, 'utf8').trim();
    } catch (err) {
      throw configError('api.tokenFile', `cannot read ${api.tokenFile}: ${(err as Error).message}`);
    }
    if (token === '') throw configError('api.tokenFile', `${api.tokenFile} is empty`);
    return token;
  }
  if (api.tokenEnv !== undefined) {
    const token = env[api.tokenEnv]?.trim();
    if (!token) throw configError('api.tokenEnv', `environment variable ${api.tokenEnv} is not set or empty`);
    return token;
  }
  return undefined;
}

/** "127.0.0.1:9090" or "[::1]:9090" */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(listen) ?? /^([^:]+):(\d+)$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw configError('api.listen', `"${listen}" is not host:port`);
  return { host: m[1], port };
}
