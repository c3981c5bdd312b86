// The one place an error becomes an HTTP response. Every error body is
// {statusCode, code, error, message, details?} with a code from src/errors.ts;
// the status comes from that registry, never from the throw site. Errors that
// are not Sluice's own are bugs: the client gets a generic 500, the log gets
// the error.
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import fp from 'fastify-plugin';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { renamedReason } from '../config/renamed-fields';
import { ErrorCodes, SluiceError, type ErrorCode } from '../errors';
import { errorCode } from './context';

interface Problem {
  path: string;
  reason: string;
}

/** ajv's error with `verbose: true`, which adds the failing schema. */
type AjvError = FastifySchemaValidationError & { parentSchema?: Record<string, unknown> };

const choices = (schema: Record<string, unknown> | undefined): string | undefined => {
  const options = Array.isArray(schema?.anyOf) ? (schema.anyOf as { const?: unknown }[]) : [];
  if (options.length === 0 || options.some((o) => o.const === undefined)) return undefined;
  return options.map((o) => String(o.const)).join(', ');
};

/** ajv says "must NOT have additional properties"; an operator needs to hear which one. */
function problem(e: AjvError, dataVar: string): Problem {
  const at = `${dataVar}${e.instancePath}`;
  const s = e.parentSchema;
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String(e.params.additionalProperty);
      return { path: `${at}/${field}`, reason: renamedReason(field) ?? 'is not a known field' };
    }
    case 'required':
      return { path: `${at}/${String(e.params.missingProperty)}`, reason: 'is required' };
    case 'anyOf': {
      const c = choices(s);
      return { path: at, reason: c === undefined ? 'matches none of the allowed shapes' : `must be one of: ${c}` };
    }
    case 'pattern':
      return { path: at, reason: typeof s?.description === 'string' ? `must be ${s.description}` : `must match ${String(e.params.pattern)}` };
    case 'minProperties': {
      const fields = Object.keys((s?.properties as object | undefined) ?? {});
      return { path: at, reason: fields.length > 0 ? `needs at least one of: ${fields.join(', ')}` : (e.message ?? 'is empty') };
    }
    default:
      return { path: at, reason: e.message ?? e.keyword };
  }
}

/**
 * fastify's schemaErrorFormatter: request validation failures become
 * SLUICE_BAD_REQUEST naming each field, like "body/port must be <= 65535".
 */
export function validationError(errors: FastifySchemaValidationError[], dataVar: string): SluiceError {
  const byPath = new Map<string, Problem>();
  for (const e of errors as AjvError[]) {
    const p = problem(e, dataVar);
    // The branches of an anyOf fail at the same path before the anyOf itself
    // does; the anyOf's "must be one of" is the useful one.
    if (!byPath.has(p.path) || e.keyword === 'anyOf') byPath.set(p.path, p);
  }
  const problems = [...byPath.values()];
  return new SluiceError('SLUICE_BAD_REQUEST', problems.map((p) => `${p.path} ${p.reason}`).join('; '), problems);
}

interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  error: string;
  message: string;
  details?: unknown;
}

function body(code: ErrorCode, message: string, details?: unknown): ErrorBody {
  const statusCode = ErrorCodes[code].status;
  return {
    statusCode,
    code,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
    ...(details === undefined ? {} : { details }),
  };
}

/** fastify's own errors carry a 4xx statusCode and a safe message (bad JSON, wrong content type...). */
function fromFastify(err: FastifyError, bodyLimit: number): ErrorBody | undefined {
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return body('SLUICE_PAYLOAD_TOO_LARGE', `request body is larger than ${bodyLimit} bytes`);
  }
  if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return body('SLUICE_BAD_REQUEST', 'request bodies must be JSON (content-type: application/json)');
  }
  const status = err.statusCode ?? 500;
  if (status === 404) return body('SLUICE_NOT_FOUND', err.message);
  if (status >= 400 && status < 500) return body('SLUICE_BAD_REQUEST', err.message);
  return undefined;
}

/**
 * 5xx errors whose messages are written for the client: ids that ran out, a
 * daemon that is stopping. Every other 5xx message may carry internals (a path,
 * errno text, a C++ exception): the client gets the registry's description.
 */
const CLIENT_SAFE_5XX: ReadonlySet<ErrorCode> = new Set(['SLUICE_RESOURCE_EXHAUSTED', 'SLUICE_SHUTTING_DOWN']);

export const INTERNAL_MESSAGE = 'internal error; the server log has the details';

export function toErrorBody(err: unknown, bodyLimit: number): ErrorBody | undefined {
  const code = errorCode(err);
  // SLUICE_INTERNAL means an invariant broke; its message is for the log, not the client.
  if (code !== undefined && code !== 'SLUICE_INTERNAL') {
    if (ErrorCodes[code].status >= 500 && !CLIENT_SAFE_5XX.has(code)) {
      return body(code, `${ErrorCodes[code].description}; the server log has the details`);
    }
    const e = err as Error & { details?: unknown };
    return body(code, e.message, e.details);
  }
  if (code === undefined && err instanceof Error && typeof (err as FastifyError).statusCode === 'number') {
    return fromFastify(err as FastifyError, bodyLimit);
  }
  return undefined;
}

/** fastify's maxParamLength default; service names and backend keys are far shorter. */
const MAX_PARAM_LENGTH = 100;

/**
 * fastify's frameworkErrors: the router refuses some URLs before any route or
 * error handler runs (broken percent-encoding, an overlong path parameter);
 * they get the same error shape as everything else.
 */
export function routerError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const reason = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
    ? `a path parameter is longer than ${MAX_PARAM_LENGTH} characters`
    : 'the URL path is not valid percent-encoded UTF-8';
  const out = body('SLUICE_BAD_REQUEST', reason);
  req.log.info({ code: out.code, message: out.message }, 'request rejected');
  void reply.code(out.statusCode).send(out);
}

/**
 * fastify's clientErrorHandler: what Node's HTTP parser refuses before fastify
 * sees a request (not HTTP, headers over the size limit, a request that took
 * too long) gets the same coded JSON body as everything else, then the
 * connection closes. Logged at debug only: a flood of garbage must not flood
 * the log.
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  let out: ErrorBody;
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    out = body('SLUICE_HEADERS_TOO_LARGE', `the request line and headers are larger than ${maxHeaderSize} bytes`);
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    out = body('SLUICE_REQUEST_TIMEOUT', 'the request did not arrive within the server\'s time limit');
  } else {
    out = body('SLUICE_BAD_REQUEST', `the request is not valid HTTP/1.1${err.code?.startsWith('HPE_') ? ` (${err.code})` : ''}`);
  }
  this.log.debug({ code: out.code, err: err.code }, 'client error');
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const json = JSON.stringify(out);
  socket.end(
    `HTTP/1.1 ${out.statusCode} ${out.error}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
    () => socket.destroy(),
  );
}

const ROUTE_METHODS: HTTPMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

export const errorHandler = fp<{ bodyLimit: number }>(async (app, { bodyLimit }) => {
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    const known = toErrorBody(err, bodyLimit);
    if (known === undefined || (known.statusCode >= 500 && known.code !== 'SLUICE_SHUTTING_DOWN')) {
      req.log.error({ err }, 'request failed');
    } else {
      req.log.info({ code: known.code, message: known.message }, 'request rejected');
    }
    const out = known ?? body('SLUICE_INTERNAL', INTERNAL_MESSAGE);
    return reply.code(out.statusCode).send(out);
  });

  // While the API closes (the daemon stops), requests still arriving on open
  // connections get a coded 503 rather than fastify's uncoded one
  // (return503OnClosing is off in buildApp). First hook of all: before auth.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_req, _reply, done) => {
    if (!closing) return done();
    done(new SluiceError('SLUICE_SHUTTING_DOWN', 'the daemon is stopping and serves no more requests; retry after it restarts'));
  });

  // Every route's path, whatever its method, so that a path that exists answers
  // a method it lacks with 405 and Allow (RFC 9110 15.5.6), not with 404.
  const paths = FindMyWay();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) paths.on(method as HTTPMethod, route.url, () => undefined);
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    const allowed = ROUTE_METHODS.filter((m) => paths.find(m, path) !== null);
    if (allowed.length > 0) {
      const out = body('SLUICE_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}; it takes ${allowed.join(', ')}`);
      return reply.code(out.statusCode).header('allow', allowed.join(', ')).send(out);
    }
    const out = body('SLUICE_NOT_FOUND', `no route ${req.method} ${path}`);
    return reply.code(out.statusCode).send(out);
  });
}, { name: 'sluice-errors', fastify: '5.x' });
