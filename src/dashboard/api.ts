// Every request the page makes: the token from sessionStorage (this tab only,
// never a URL) as a Bearer header, and a refused request turned into the API's
// own error text (its coded body) so the page can show it.

const TOKEN_KEY = 'sluice.token';

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string): void => sessionStorage.setItem(TOKEN_KEY, t),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string | undefined, message: string) {
    super(message);
  }
}

export function headers(extra: Record<string, string> = {}): Record<string, string> {
  const t = token.get();
  return t === null ? extra : { ...extra, authorization: `Bearer ${t}` };
}

/** The API's message and code from an error response, or the status line when the body is not the API's. */
export async function errorOf(res: Response): Promise<ApiError> {
  let code: string | undefined;
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = await res.json() as { code?: string; message?: string };
    if (typeof body.message === 'string') message = body.message;
    if (typeof body.code === 'string') code = body.code;
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message);
}

export async function patchBackend(service: string, backend: string, body: { state?: string; weight?: number }): Promise<void> {
  const res = await fetch(`/api/v1/services/${encodeURIComponent(service)}/backends/${encodeURIComponent(backend)}`, {
    method: 'PATCH',
    headers: headers({ 'content-type': 'application/json' }),
    body: JSON.stringify(body),
  });
  if (!res.ok) throw await errorOf(res);
}
