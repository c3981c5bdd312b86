// The CLI's view of the REST API: base URL from --api or SLUICE_API, token from
// SLUICE_TOKEN, and failures turned into messages a person can act on.
export const DEFAULT_API = 'http://127.0.0.1:9090';

export class CliError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

/** Exit codes: 1 the API refused the request, 3 the daemon could not be reached. */
export const EXIT_REFUSED = 1;
export const EXIT_UNREACHABLE = 3;

export class ApiClient {
  constructor(
    readonly base: string = process.env.SLUICE_API ?? DEFAULT_API,
    private readonly token: string | undefined = process.env.SLUICE_TOKEN,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.base.replace(/\/+$/, '')}${path}`;
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(
        `cannot reach the Sluice API at ${this.base} (${cause?.code ?? cause?.message ?? (err as Error).message}); ` +
          'is the daemon running? Set --api or SLUICE_API to its address',
        EXIT_UNREACHABLE,
      );
    }
    const text = await res.text();
    const parsed: unknown = text === '' ? undefined : safeJson(text);
    if (!res.ok) {
      const e = parsed as { code?: string; message?: string } | undefined;
      const hint = res.status === 401 ? ' (set SLUICE_TOKEN to the API token)' : '';
      throw new CliError(`${e?.message ?? `HTTP ${res.status}`}${e?.code ? ` [${e.code}]` : ''}${hint}`, EXIT_REFUSED);
    }
    return parsed as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}
