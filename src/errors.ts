// Every error Sluice raises on purpose carries a code from this one registry, so
// callers (CLI, REST, tests) branch on `code` and never on message text. The
// native addon's errors carry codes from this list too.

export const ErrorCodes = {
  SLUICE_CONFIG_READ: {
    status: 400,
    description: 'the config file is missing, unreadable, or not valid YAML/JSON',
  },
  SLUICE_CONFIG_INVALID: {
    status: 400,
    description: 'the config breaks the schema or a semantic rule; details lists {path, reason}',
  },
  SLUICE_INVALID_ARGUMENT: {
    status: 400,
    description: 'the native addon rejected an argument that TypeScript should have caught',
  },
  SLUICE_EAL_INIT_FAILED: {
    status: 500,
    description: 'rte_eal_init failed (hugepages, devices, lcores or permissions)',
  },
  SLUICE_ALREADY_STARTED: {
    status: 409,
    description: 'the data plane is already running in this process',
  },
  SLUICE_NOT_RUNNING: {
    status: 409,
    description: 'the operation needs a running data plane',
  },
  SLUICE_PORT_SETUP_FAILED: {
    status: 500,
    description: 'a port could not be found, configured or started',
  },
  SLUICE_RESOURCE_EXHAUSTED: {
    status: 503,
    description: 'a fixed-size resource ran out (mbufs, flow table, service or backend ids)',
  },
  SLUICE_BAD_REQUEST: {
    status: 400,
    description: 'a request does not match its schema (type, range, unknown field, size)',
  },
  SLUICE_PAYLOAD_TOO_LARGE: {
    status: 413,
    description: 'a request body is larger than api.bodyLimitBytes',
  },
  SLUICE_UNAUTHORIZED: {
    status: 401,
    description: 'the API needs "Authorization: Bearer <token>" and it was missing or wrong',
  },
  SLUICE_NOT_FOUND: {
    status: 404,
    description: 'no service or backend by that name',
  },
  SLUICE_METHOD_NOT_ALLOWED: {
    status: 405,
    description: 'the path exists but not with that method; the Allow header lists the methods it takes',
  },
  SLUICE_CONFLICT: {
    status: 409,
    description: 'a service or backend by that name already exists, or the change was checked against an earlier one the data plane refused',
  },
  SLUICE_LIMIT_EXCEEDED: {
    status: 409,
    description: 'the change would take a kind of memory beyond its limit in the config\'s limits; the message names it',
  },
  SLUICE_STATE_READ: {
    status: 500,
    description: 'the state file exists but cannot be read or parsed; nothing was started',
  },
  SLUICE_STATE_WRITE: {
    status: 500,
    description: 'the state file could not be written; the change was rolled back',
  },
  SLUICE_RELOAD_REFUSED: {
    status: 409,
    description: 'the config file changes fields only a restart applies; details names them and nothing changed',
  },
  SLUICE_HEADERS_TOO_LARGE: {
    status: 431,
    description: 'the request line and headers are larger than the server takes',
  },
  SLUICE_REQUEST_TIMEOUT: {
    status: 408,
    description: 'the request did not arrive in time',
  },
  SLUICE_SHUTTING_DOWN: {
    status: 503,
    description: 'the daemon is stopping and serves no more requests',
  },
  SLUICE_LISTEN_FAILED: {
    status: 500,
    description: 'the API cannot listen on api.listen (address in use, not local, or not permitted)',
  },
  SLUICE_LCORE_TIMEOUT: {
    status: 503,
    description: 'a worker lcore did not answer a connection listing in time (it may be stuck: see GET /api/v1/lcores); nothing changed',
  },
  SLUICE_BGP_UNSUPPORTED: {
    status: 500,
    description: 'gobgpd is not installed (Debian package gobgpd) or is a version Sluice does not know (it knows 3.10.x)',
  },
  SLUICE_BGP_SPEAKER: {
    status: 503,
    description: 'the BGP speaker (gobgpd) could not be started, died, or its gRPC API did not answer in time',
  },
  SLUICE_BGP_REFUSED: {
    status: 400,
    description: 'a BGP request was refused, by Sluice\'s checks or by gobgpd (a bad address, prefix or ASN, a peer that exists already or not at all)',
  },
  SLUICE_INTERNAL: {
    status: 500,
    description: 'a bug: an invariant did not hold',
  },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'SluiceError';
    this.code = code;
    if (details !== undefined) this.details = details;
  }
}

export function isSluiceError(err: unknown, code?: ErrorCode): err is SluiceError {
  return err instanceof SluiceError && (code === undefined || err.code === code);
}

/** One config problem; `path` looks like `services[0].backends[1].port`. */
export interface ConfigProblem {
  path: string;
  reason: string;
}

/** All problems in one error, one `path: reason` per line, so an operator fixes them in one pass. */
export function configErrors(problems: readonly ConfigProblem[]): SluiceError {
  const message = problems.map((p) => `${p.path}: ${p.reason}`).join('\n');
  return new SluiceError('SLUICE_CONFIG_INVALID', message, problems.map((p) => ({ ...p })));
}

export function configError(path: string, reason: string): SluiceError {
  return configErrors([{ path, reason }]);
}
