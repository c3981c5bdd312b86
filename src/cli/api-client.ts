// The CLI's view of the REST API: base URL from --api or SLUICE_API, token from
// SLUICE_TOKEN, and failures turned into messages a person can act on.
export const DEFAULT_API = 'http://127.0.0.1:9090';

export class CliError extends Error {
  /** the API's error code, when the API refused */
  constructor(message: string, readonly exitCode: number, readonly code?: string) {
    super(message);
  }
}

export interface RequestOptions {
  /** ends the request early (Ctrl-C of a watch) */
  signal?: AbortSignal;
  /** a daemon that has not answered by then counts as not reachable */
  timeoutMs?: number;
}

/** Exit codes: 1 the API refused the request, 3 the daemon could not be reached. */
export const EXIT_REFUSED = 1;
export const EXIT_UNREACHABLE = 3;

export class ApiClient {
  constructor(
    readonly base: string = process.env.SLUICE_API ?? DEFAULT_API,
    private readonly token: string | undefined = process.env.SLUICE_TOKEN,
  ) {}

  async request<T>(method: string, path: string, body?: unknown, o: RequestOptions = {}): Promise<T> {
    const { res, text } = await this.send(method, path, body, o);
    const parsed: unknown = text === '' ? undefined : safeJson(text);
    if (!res.ok) {
      const e = parsed as { code?: string; message?: string } | undefined;
      const hint = res.status === 401 ? ' (set SLUICE_TOKEN to the API token)' : '';
      throw new CliError(`${e?.message ?? `HTTP ${res.status}`}${e?.code ? ` [${e.code}]` : ''}${hint}`, EXIT_REFUSED, e?.code);
    }
    return parsed as T;
  }

  /** A route that answers text (GET /metrics). */
  async text(path: string, o: RequestOptions = {}): Promise<string> {
    const { res, text } = await this.send('GET', path, undefined, o);
    if (!res.ok) {
      const e = safeJson(text) as { code?: string; message?: string };
      const hint = res.status === 401 ? ' (set SLUICE_TOKEN to the API token)' : '';
      throw new CliError(`${e.message ?? `HTTP ${res.status}`}${e.code ? ` [${e.code}]` : ''}${hint}`, EXIT_REFUSED, e.code);
    }
    return text;
  }

  private async send(method: string, path: string, body: unknown, o: RequestOptions): Promise<{ res: Response; text: string }> {
    const url = `${this.base.replace(/\/+$/, '')}${path}`;
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const signals = [o.signal, o.timeoutMs === undefined ? undefined : AbortSignal.timeout(o.timeoutMs)].filter((s) => s !== undefined);
    const signal = signals.length === 0 ? undefined : AbortSignal.any(signals);
    try {
      const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
      // A daemon that stops mid-answer is as unreachable as one that never answered.
      return { res, text: await res.text() };
    } catch (err) {
      if (o.signal?.aborted) throw err;
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = e.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : e.cause?.code ?? e.cause?.message ?? e.message;
      throw new CliError(
        `cannot reach the Sluice API at ${this.base} (${why}); is the daemon running? Set --api or SLUICE_API to its address`,
        EXIT_UNREACHABLE,
      );
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}
