// The audit trail: what a successful change did, carried on its request's one
// info line (RequestLog in app.ts) as `audit`: the object changed and its
// fields before and after. Services are summarised (a 4,096-backend service is
// its backend count, not its backends): the line says what changed, the state
// file holds the whole.
import type { FastifyRequest } from 'fastify';
import type { BackendConfig, ServiceConfig } from '../config';

export interface Audit {
  /** "service web", "backend web/10.99.0.11:80" */
  object: string;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

const audits = new WeakMap<FastifyRequest, Audit>();

/** Records what `req` changed, for its log line. */
export function audit(req: FastifyRequest, entry: Audit): void {
  audits.set(req, entry);
}

export function auditOf(req: FastifyRequest): Audit | undefined {
  return audits.get(req);
}

export function serviceSummary(s: ServiceConfig): Record<string, unknown> {
  return { vip: s.vip, port: s.port, protocol: s.protocol, forwarding: s.forwarding, backends: s.backends.length };
}

export function backendSummary(b: BackendConfig): Record<string, unknown> {
  return { weight: b.weight, state: b.state };
}
