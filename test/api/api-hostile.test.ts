// Hostile input to every /api/v1 route. One table of requests, each refused
// with a 4xx, a code from src/errors.ts and a message naming the field at
// fault; after each one the whole state (every GET, the state file's bytes, the
// data plane's snapshot generation) is byte-for-byte what it was and the API
// still answers. The table runs through inject() on a real data plane (ring
// port); a real daemon then takes what depends on its HTTP server: bodies over
// the limit, and conflicting changes sent at the same time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../../src/api/app';
import { ErrorSchema } from '../../src/api/schemas/common';
import { validateConfig, type SluiceConfig } from '../../src/config';
import type { HealthView } from '../../src/control/health-view';
import { StateFile } from '../../src/control/state-file';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { ErrorCodes, type ErrorCode } from '../../src/errors';
import { removeStaleRuntimeDirs } from '../../src/runtime-dirs';
import { daemonConfig, startDaemon, type DaemonProcess } from '../helpers/daemon-process';
import { servicesOnDisk, stateTextOnDisk } from '../helpers/state-on-disk';

const BODY_LIMIT = 65536;

/** Every backend unchecked, for ever: nothing but the requests can change a GET. */
const health: HealthView = {
  backend: () => ({ status: 'unchecked', streak: 0, transitions: 0 }),
  totals: () => ({ up: 0, down: 0, probes: 0, probeFailures: 0 }),
};

let dir: string;
let stateFile: string;
let dataplane: Dataplane;
let app: FastifyInstance;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-hostile-api-'));
  stateFile = path.join(dir, 'state.json');
  const cfg: SluiceConfig = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
    dataplane: { idleSleepMaxUs: 200 },
    flowTable: { entriesPerLcore: 16384 },
    services: [{
      name: 'web', vip: '10.99.0.100', port: 80,
      backends: [
        { address: '10.99.0.11', port: 80, mac: '02:00:00:00:01:01' },
        { address: '10.99.0.12', port: 80, mac: '02:00:00:00:01:02', weight: 50, state: 'drain' },
      ],
    }],
    stateFile,
  });
  dataplane = new Dataplane();
  dataplane.start(cfg, `hostile-api-${process.pid}`);
  const store = new ServiceStore(cfg, dataplane, new StateFile(stateFile));
  store.started(store.initialServices());
  app = buildApp({ store, dataplane, health, version: '0.0.0-test', config: cfg, bodyLimitBytes: BODY_LIMIT });
  await app.ready();
  // A service made through the API, so the state file exists and differs from the config.
  const made = await app.inject({ method: 'POST', url: '/api/v1/services', payload: {
    name: 'dns', vip: '10.99.0.101', port: 53, protocol: 'udp',
    healthCheck: { type: 'http', path: '/ready', expectStatus: '200-299' },
    backends: [{ address: '10.99.0.21', port: 53, mac: '02:00:00:00:02:01', healthCheck: { port: 8053 } }],
  } });
  assert.equal(made.statusCode, 201, made.body);
});

after(async () => {
  await app?.close();
  dataplane?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

interface HostileRequest {
  name: string;
  method: Method;
  url: string;
  headers?: Record<string, string>;
  /** an object is sent as JSON; a string is sent as it is */
  body?: string | object;
  /** default application/json when there is a body; null sends none */
  contentType?: string | null;
  expectStatus: number;
  expectCode: ErrorCode;
  /** the field (or name) at fault, as the message must say it */
  messageIncludes: string;
}

const svc = (extra: Record<string, unknown> = {}, drop: string[] = []): Record<string, unknown> => {
  const s: Record<string, unknown> = { name: 'new', vip: '10.99.0.150', port: 80, ...extra };
  for (const k of drop) delete s[k];
  return s;
};
const be = (extra: Record<string, unknown> = {}, drop: string[] = []): Record<string, unknown> => {
  const b: Record<string, unknown> = { address: '10.99.0.30', port: 80, ...extra };
  for (const k of drop) delete b[k];
  return b;
};
/** PUT takes the whole service; the URL names it. */
const whole = (extra: Record<string, unknown> = {}) => svc({ vip: '10.99.0.100', ...extra }, ['name']);

const SERVICES = '/api/v1/services';
const WEB = `${SERVICES}/web`;
const BACKENDS = `${WEB}/backends`;
const BACKEND = `${BACKENDS}/10.99.0.11:80`;
const bad = 'SLUICE_BAD_REQUEST';
const invalid = 'SLUICE_CONFIG_INVALID';

/** For each route, the same kinds of bad value where it takes them. */
const table: HostileRequest[] = [
  // --- POST /services: wrong JSON types
  { name: 'body is an array', method: 'POST', url: SERVICES, body: [svc()], expectStatus: 400, expectCode: bad, messageIncludes: 'body must be object' },
  { name: 'body is a string', method: 'POST', url: SERVICES, body: '"web"', expectStatus: 400, expectCode: bad, messageIncludes: 'body must be object' },
  { name: 'body is null', method: 'POST', url: SERVICES, body: 'null', expectStatus: 400, expectCode: bad, messageIncludes: 'body must be object' },
  { name: 'body is a number', method: 'POST', url: SERVICES, body: '42', expectStatus: 400, expectCode: bad, messageIncludes: 'body must be object' },
  { name: 'name is a number', method: 'POST', url: SERVICES, body: svc({ name: 7 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/name must be string' },
  { name: 'vip is a number', method: 'POST', url: SERVICES, body: svc({ vip: 174326678 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/vip must be string' },
  { name: 'backends is an object', method: 'POST', url: SERVICES, body: svc({ backends: { address: '10.99.0.30' } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/backends must be array' },
  { name: 'healthCheck is a string', method: 'POST', url: SERVICES, body: svc({ healthCheck: 'http' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck must be object' },
  { name: 'a backend is null', method: 'POST', url: SERVICES, body: svc({ backends: [null] }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/backends/0 must be object' },
  { name: 'protocol is true', method: 'POST', url: SERVICES, body: svc({ protocol: true }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/protocol must be one of: tcp, udp' },
  // strings where numbers go; ports
  { name: 'port as a string', method: 'POST', url: SERVICES, body: svc({ port: '80' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/port must be integer' },
  { name: 'port -1', method: 'POST', url: SERVICES, body: svc({ port: -1 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/port must be >= 1' },
  { name: 'port 0', method: 'POST', url: SERVICES, body: svc({ port: 0 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/port must be >= 1' },
  { name: 'port 65536', method: 'POST', url: SERVICES, body: svc({ port: 65536 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/port must be <= 65535' },
  { name: 'port 80.5', method: 'POST', url: SERVICES, body: svc({ port: 80.5 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/port must be integer' },
  { name: 'port 1e400 (Infinity once parsed)', method: 'POST', url: SERVICES, body: '{"name":"new","vip":"10.99.0.150","port":1e400}', expectStatus: 400, expectCode: bad, messageIncludes: 'body/port must be integer' },
  { name: 'lookupTableSize as a string', method: 'POST', url: SERVICES, body: svc({ lookupTableSize: '65537' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/lookupTableSize must be integer' },
  { name: 'lookupTableSize not prime', method: 'POST', url: SERVICES, body: svc({ lookupTableSize: 65536 }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.lookupTableSize: must be prime' },
  { name: 'maglevTableSize, the old name', method: 'POST', url: SERVICES, body: svc({ maglevTableSize: 65537 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/maglevTableSize was renamed to lookupTableSize' },
  { name: 'healthCheck interval as a string', method: 'POST', url: SERVICES, body: svc({ healthCheck: { intervalMs: '500' } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/intervalMs must be integer' },
  { name: 'healthCheck rise 0', method: 'POST', url: SERVICES, body: svc({ healthCheck: { rise: 0 } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/rise must be >= 1' },
  // weights
  { name: 'backend weight -1', method: 'POST', url: SERVICES, body: svc({ backends: [be({ weight: -1 })] }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/backends/0/weight must be >= 0' },
  { name: 'backend weight 65536', method: 'POST', url: SERVICES, body: svc({ backends: [be({ weight: 65536 })] }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/backends/0/weight must be <= 65535' },
  { name: 'backend port 0', method: 'POST', url: SERVICES, body: svc({ backends: [be({ port: 0 })] }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/backends/0/port must be >= 1' },
  // addresses
  { name: 'vip with a leading zero', method: 'POST', url: SERVICES, body: svc({ vip: '010.99.0.150' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.vip: "010.99.0.150" must be an IPv4 or IPv6 address' },
  { name: 'vip octet out of range', method: 'POST', url: SERVICES, body: svc({ vip: '10.99.0.256' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.vip' },
  { name: 'vip with three octets', method: 'POST', url: SERVICES, body: svc({ vip: '10.99.150' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.vip' },
  { name: 'vip with a prefix length', method: 'POST', url: SERVICES, body: svc({ vip: '10.99.0.150/32' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.vip' },
  { name: 'vip with spaces', method: 'POST', url: SERVICES, body: svc({ vip: ' 10.99.0.150' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.vip' },
  { name: 'vip is a host name', method: 'POST', url: SERVICES, body: svc({ vip: 'localhost' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.vip' },
  { name: 'vip is empty', method: 'POST', url: SERVICES, body: svc({ vip: '' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.vip' },
  { name: 'vip is garbage bytes', method: 'POST', url: SERVICES, body: svc({ vip: '\u0000\uffff\u202e' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.vip' },
  { name: 'vip is IPv6', method: 'POST', url: SERVICES, body: svc({ vip: '2001:db8::1' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.vip: 2001:db8::1 is IPv6 and no port has an IPv6 address' },
  { name: 'vip is broken IPv6', method: 'POST', url: SERVICES, body: svc({ vip: '2001:db8:::1' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.vip' },
  { name: 'vip is IPv6 with a zone', method: 'POST', url: SERVICES, body: svc({ vip: 'fe80::1%eth0' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.vip' },
  { name: 'backend address with a leading zero', method: 'POST', url: SERVICES, body: svc({ backends: [be({ address: '10.99.0.030' })] }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.backends[0].address' },
  { name: 'backend address is garbage', method: 'POST', url: SERVICES, body: svc({ backends: [be({ address: 'http://10.99.0.30/' })] }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.backends[0].address' },
  { name: 'backend MAC is garbage', method: 'POST', url: SERVICES, body: svc({ backends: [be({ mac: '02:00:00:00:00' })] }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.backends[0].mac' },
  // names
  { name: 'name 33 characters', method: 'POST', url: SERVICES, body: svc({ name: 'a'.repeat(33) }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/name must be 1 to 32 of A-Z a-z 0-9 _ . -' },
  { name: 'name empty', method: 'POST', url: SERVICES, body: svc({ name: '' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/name must be 1 to 32' },
  { name: 'name with a slash', method: 'POST', url: SERVICES, body: svc({ name: 'a/b' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/name must be 1 to 32' },
  { name: 'name with non-ASCII letters', method: 'POST', url: SERVICES, body: svc({ name: 'wéb' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/name must be 1 to 32' },
  { name: 'name with a newline', method: 'POST', url: SERVICES, body: svc({ name: 'web\n' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/name must be 1 to 32' },
  { name: 'name missing', method: 'POST', url: SERVICES, body: svc({}, ['name']), expectStatus: 400, expectCode: bad, messageIncludes: 'body/name is required' },
  // duplicates
  { name: 'duplicate service name', method: 'POST', url: SERVICES, body: svc({ name: 'web' }), expectStatus: 409, expectCode: 'SLUICE_CONFLICT', messageIncludes: 'a service named "web" already exists' },
  { name: 'duplicate service name made through the API', method: 'POST', url: SERVICES, body: svc({ name: 'dns' }), expectStatus: 409, expectCode: 'SLUICE_CONFLICT', messageIncludes: '"dns"' },
  { name: 'vip:port/protocol already served', method: 'POST', url: SERVICES, body: svc({ vip: '10.99.0.100' }), expectStatus: 409, expectCode: 'SLUICE_CONFLICT', messageIncludes: '10.99.0.100:80/tcp is already served by service "web"' },
  { name: 'duplicate backends within a service', method: 'POST', url: SERVICES, body: svc({ backends: [be(), be({ weight: 5 })] }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.backends[1]: backend 10.99.0.30:80 is listed twice' },
  // unknown fields at every level
  { name: 'unknown field at the top', method: 'POST', url: SERVICES, body: svc({ colour: 'red' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/colour is not a known field' },
  { name: 'unknown field in healthCheck', method: 'POST', url: SERVICES, body: svc({ healthCheck: { type: 'tcp', retries: 3 } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/retries is not a known field' },
  { name: 'unknown field in a backend', method: 'POST', url: SERVICES, body: svc({ backends: [be({ hostname: 'b1' })] }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/backends/0/hostname is not a known field' },
  { name: 'unknown field in a backend\'s healthCheck', method: 'POST', url: SERVICES, body: svc({ backends: [be({ healthCheck: { host: 'x' } })] }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/backends/0/healthCheck/host is not a known field' },
  { name: 'read-only stats field', method: 'POST', url: SERVICES, body: svc({ stats: { packets: 1 } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/stats is not a known field' },
  { name: '__proto__ key', method: 'POST', url: SERVICES, body: '{"name":"new","vip":"10.99.0.150","port":80,"__proto__":{"admin":true}}', expectStatus: 400, expectCode: bad, messageIncludes: 'not valid JSON' },
  // enums
  { name: 'protocol sctp', method: 'POST', url: SERVICES, body: svc({ protocol: 'sctp' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/protocol must be one of: tcp, udp' },
  { name: 'protocol in upper case', method: 'POST', url: SERVICES, body: svc({ protocol: 'TCP' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/protocol must be one of: tcp, udp' },
  { name: 'forwarding that does not exist', method: 'POST', url: SERVICES, body: svc({ forwarding: 'masquerade' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/forwarding must be one of: dsr' },
  { name: 'health check type that does not exist', method: 'POST', url: SERVICES, body: svc({ healthCheck: { type: 'icmp' } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/type must be one of: tcp, http, none' },
  { name: 'backend state that does not exist', method: 'POST', url: SERVICES, body: svc({ backends: [be({ state: 'paused' })] }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/backends/0/state must be one of: active, drain, disabled' },
  // health check values
  { name: 'expectStatus reversed', method: 'POST', url: SERVICES, body: svc({ healthCheck: { type: 'http', expectStatus: '399-200' } }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.healthCheck.expectStatus: "399-200" is a reversed range' },
  { name: 'expectStatus reversed in a backend override', method: 'POST', url: SERVICES, body: svc({ backends: [be({ healthCheck: { expectStatus: '500-404' } })] }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.new.backends[0].healthCheck.expectStatus: "500-404" is a reversed range' },
  { name: 'expectStatus 600', method: 'POST', url: SERVICES, body: svc({ healthCheck: { expectStatus: '200-600' } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/expectStatus must be a status or an ascending range' },
  { name: 'health path beyond Latin-1', method: 'POST', url: SERVICES, body: svc({ healthCheck: { type: 'http', path: '/健康' } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/path must be an absolute path of printable ASCII' },
  { name: 'health path with Latin-1 letters', method: 'POST', url: SERVICES, body: svc({ healthCheck: { type: 'http', path: '/état' } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/path must be an absolute path of printable ASCII' },
  { name: 'health path with a NUL', method: 'POST', url: SERVICES, body: svc({ healthCheck: { type: 'http', path: '/a\u0000b' } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/path' },
  { name: 'health path with CR LF (header injection)', method: 'POST', url: SERVICES, body: svc({ healthCheck: { type: 'http', path: '/\r\nHost: evil' } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/path' },
  { name: 'health path with DEL', method: 'POST', url: SERVICES, body: svc({ healthCheck: { type: 'http', path: '/a\u007f' } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/path' },
  { name: 'health path in a backend override, control character', method: 'POST', url: SERVICES, body: svc({ backends: [be({ healthCheck: { path: '/\u001b[2J' } })] }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/backends/0/healthCheck/path' },
  { name: 'health path not absolute', method: 'POST', url: SERVICES, body: svc({ healthCheck: { type: 'http', path: 'ready' } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/path' },
  // bodies and content types
  { name: 'malformed JSON', method: 'POST', url: SERVICES, body: '{"name": "new",', expectStatus: 400, expectCode: bad, messageIncludes: 'not valid JSON' },
  { name: 'JSON with a trailing comma', method: 'POST', url: SERVICES, body: '{"name":"new","vip":"10.99.0.150","port":80,}', expectStatus: 400, expectCode: bad, messageIncludes: 'not valid JSON' },
  { name: 'deeply nested JSON', method: 'POST', url: SERVICES, body: `${'['.repeat(20000)}${']'.repeat(20000)}`, expectStatus: 400, expectCode: bad, messageIncludes: 'body must be object' },
  { name: 'empty body with a JSON content type', method: 'POST', url: SERVICES, body: '', expectStatus: 400, expectCode: bad, messageIncludes: 'Body cannot be empty' },
  { name: 'no body at all', method: 'POST', url: SERVICES, contentType: null, expectStatus: 400, expectCode: bad, messageIncludes: 'body must be object' },
  { name: 'JSON without a content type', method: 'POST', url: SERVICES, body: JSON.stringify(svc()), contentType: null, expectStatus: 400, expectCode: bad, messageIncludes: 'content-type: application/json' },
  { name: 'JSON sent as text/plain', method: 'POST', url: SERVICES, body: JSON.stringify(svc()), contentType: 'text/plain', expectStatus: 400, expectCode: bad, messageIncludes: 'content-type: application/json' },
  { name: 'form-encoded body', method: 'POST', url: SERVICES, body: 'name=new&vip=10.99.0.150&port=80', contentType: 'application/x-www-form-urlencoded', expectStatus: 400, expectCode: bad, messageIncludes: 'content-type: application/json' },
  { name: 'a body over the limit', method: 'POST', url: SERVICES, body: svc({ backends: Array.from({ length: 3000 }, (_, i) => be({ address: `10.99.0.${i % 250}` })) }), expectStatus: 413, expectCode: 'SLUICE_PAYLOAD_TOO_LARGE', messageIncludes: `larger than ${BODY_LIMIT} bytes` },
  // query strings: no route takes one
  { name: 'an unknown query parameter', method: 'POST', url: `${SERVICES}?dryRun=true`, body: svc(), expectStatus: 400, expectCode: bad, messageIncludes: 'querystring/dryRun is not a known field' },
  { name: 'a query parameter on a list', method: 'GET', url: `${SERVICES}?limit=1`, expectStatus: 400, expectCode: bad, messageIncludes: 'querystring/limit is not a known field' },
  { name: 'a broken percent-escape in the query', method: 'GET', url: `${SERVICES}?%zz=1`, expectStatus: 400, expectCode: bad, messageIncludes: 'querystring/%zz is not a known field' },
  // methods not allowed
  { name: 'DELETE the whole collection', method: 'DELETE', url: SERVICES, expectStatus: 405, expectCode: 'SLUICE_METHOD_NOT_ALLOWED', messageIncludes: 'DELETE is not allowed on /api/v1/services' },
  { name: 'PATCH the collection', method: 'PATCH', url: SERVICES, body: {}, expectStatus: 405, expectCode: 'SLUICE_METHOD_NOT_ALLOWED', messageIncludes: 'PATCH is not allowed on /api/v1/services' },
  { name: 'OPTIONS', method: 'OPTIONS', url: SERVICES, expectStatus: 405, expectCode: 'SLUICE_METHOD_NOT_ALLOWED', messageIncludes: 'OPTIONS is not allowed on /api/v1/services' },

  // --- GET/PUT/DELETE /services/:name
  { name: 'unknown service', method: 'GET', url: `${SERVICES}/nope`, expectStatus: 404, expectCode: 'SLUICE_NOT_FOUND', messageIncludes: 'no service named "nope"' },
  { name: 'a name no service can have', method: 'GET', url: `${SERVICES}/${encodeURIComponent('a b')}`, expectStatus: 400, expectCode: bad, messageIncludes: 'params/name must be 1 to 32' },
  { name: 'a NUL in the name', method: 'DELETE', url: `${SERVICES}/web%00`, expectStatus: 400, expectCode: bad, messageIncludes: 'params/name must be 1 to 32' },
  { name: 'a path parameter over 100 characters', method: 'GET', url: `${SERVICES}/${'a'.repeat(5000)}`, expectStatus: 400, expectCode: bad, messageIncludes: 'longer than 100 characters' },
  { name: 'broken percent-encoding in the path', method: 'DELETE', url: `${SERVICES}/%E0%A4%A`, expectStatus: 400, expectCode: bad, messageIncludes: 'not valid percent-encoded UTF-8' },
  { name: 'DELETE an unknown service', method: 'DELETE', url: `${SERVICES}/nope`, expectStatus: 404, expectCode: 'SLUICE_NOT_FOUND', messageIncludes: '"nope"' },
  { name: 'DELETE with a query', method: 'DELETE', url: `${WEB}?force=1`, expectStatus: 400, expectCode: bad, messageIncludes: 'querystring/force is not a known field' },
  { name: 'POST to a service', method: 'POST', url: WEB, body: svc(), expectStatus: 405, expectCode: 'SLUICE_METHOD_NOT_ALLOWED', messageIncludes: 'POST is not allowed on /api/v1/services/web' },
  { name: 'PATCH a service', method: 'PATCH', url: WEB, body: { port: 81 }, expectStatus: 405, expectCode: 'SLUICE_METHOD_NOT_ALLOWED', messageIncludes: 'PATCH is not allowed on /api/v1/services/web' },
  { name: 'PUT without a body', method: 'PUT', url: WEB, contentType: null, expectStatus: 400, expectCode: bad, messageIncludes: 'body must be object' },
  { name: 'PUT an unknown service', method: 'PUT', url: `${SERVICES}/nope`, body: whole(), expectStatus: 404, expectCode: 'SLUICE_NOT_FOUND', messageIncludes: '"nope"' },
  { name: 'PUT a name that differs from the URL', method: 'PUT', url: WEB, body: { ...whole(), name: 'other' }, expectStatus: 400, expectCode: bad, messageIncludes: 'body name "other" differs from "web"' },
  { name: 'PUT port as a string', method: 'PUT', url: WEB, body: whole({ port: '80' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/port must be integer' },
  { name: 'PUT port 65536', method: 'PUT', url: WEB, body: whole({ port: 65536 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/port must be <= 65535' },
  { name: 'PUT vip with a leading zero', method: 'PUT', url: WEB, body: whole({ vip: '10.99.0.0100' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.web.vip' },
  { name: 'PUT onto another service\'s vip:port', method: 'PUT', url: WEB, body: whole({ vip: '10.99.0.101', port: 53, protocol: 'udp' }), expectStatus: 409, expectCode: 'SLUICE_CONFLICT', messageIncludes: 'already served by service "dns"' },
  { name: 'PUT duplicate backends', method: 'PUT', url: WEB, body: whole({ backends: [be({ address: '10.99.0.11' }), be({ address: '10.99.0.11', weight: 3 })] }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.web.backends[1]: backend 10.99.0.11:80 is listed twice' },
  { name: 'PUT read-only backend fields', method: 'PUT', url: WEB, body: whole({ backends: [be({ key: '10.99.0.30:80', health: {} })] }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/backends/0/key is not a known field' },
  { name: 'PUT unknown nested field', method: 'PUT', url: WEB, body: whole({ healthCheck: { type: 'tcp', tls: true } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/tls is not a known field' },
  { name: 'PUT reversed expectStatus', method: 'PUT', url: WEB, body: whole({ healthCheck: { type: 'http', expectStatus: '204-200' } }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.web.healthCheck.expectStatus' },
  { name: 'PUT health path beyond Latin-1', method: 'PUT', url: WEB, body: whole({ healthCheck: { type: 'http', path: '/\u{1f600}' } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/path' },
  { name: 'PUT nat without a pool on the egress port', method: 'PUT', url: WEB, body: whole({ forwarding: 'nat', backends: [be()] }), expectStatus: 400, expectCode: invalid, messageIncludes: 'natPool' },
  { name: 'PUT malformed JSON', method: 'PUT', url: WEB, body: '{"vip":', expectStatus: 400, expectCode: bad, messageIncludes: 'not valid JSON' },
  { name: 'PUT as text/plain', method: 'PUT', url: WEB, body: JSON.stringify(whole()), contentType: 'text/plain', expectStatus: 400, expectCode: bad, messageIncludes: 'content-type: application/json' },

  // --- GET/POST /services/:name/backends
  { name: 'backends of an unknown service', method: 'GET', url: `${SERVICES}/nope/backends`, expectStatus: 404, expectCode: 'SLUICE_NOT_FOUND', messageIncludes: '"nope"' },
  { name: 'backends of an impossible name', method: 'GET', url: `${SERVICES}/${'x'.repeat(33)}/backends`, expectStatus: 400, expectCode: bad, messageIncludes: 'params/name must be 1 to 32' },
  { name: 'add to an unknown service', method: 'POST', url: `${SERVICES}/nope/backends`, body: be(), expectStatus: 404, expectCode: 'SLUICE_NOT_FOUND', messageIncludes: '"nope"' },
  { name: 'add a duplicate backend', method: 'POST', url: BACKENDS, body: be({ address: '10.99.0.11' }), expectStatus: 409, expectCode: 'SLUICE_CONFLICT', messageIncludes: 'service "web" already has backend 10.99.0.11:80' },
  { name: 'add with port as a string', method: 'POST', url: BACKENDS, body: be({ port: '80' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/port must be integer' },
  { name: 'add with port -80', method: 'POST', url: BACKENDS, body: be({ port: -80 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/port must be >= 1' },
  { name: 'add with port 65536', method: 'POST', url: BACKENDS, body: be({ port: 65536 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/port must be <= 65535' },
  { name: 'add with port 80.0001', method: 'POST', url: BACKENDS, body: be({ port: 80.0001 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/port must be integer' },
  { name: 'add with weight as a string', method: 'POST', url: BACKENDS, body: be({ weight: '100' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/weight must be integer' },
  { name: 'add with weight -1', method: 'POST', url: BACKENDS, body: be({ weight: -1 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/weight must be >= 0' },
  { name: 'add with weight 1e6', method: 'POST', url: BACKENDS, body: be({ weight: 1e6 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/weight must be <= 65535' },
  { name: 'add with weight 0.5', method: 'POST', url: BACKENDS, body: be({ weight: 0.5 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/weight must be integer' },
  { name: 'add with address as a number', method: 'POST', url: BACKENDS, body: be({ address: 0x0a63001e }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/address must be string' },
  { name: 'add with a leading-zero address', method: 'POST', url: BACKENDS, body: be({ address: '010.99.0.30' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.web.backends[2].address: "010.99.0.30" must be an IPv4 or IPv6 address' },
  { name: 'add an IPv6 backend', method: 'POST', url: BACKENDS, body: be({ address: '2001:db8::30' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.web.backends[2].address: 2001:db8::30 is IPv6 but the VIP is IPv4' },
  { name: 'add an IPv4-mapped IPv6 spelling of an existing backend', method: 'POST', url: BACKENDS, body: be({ address: '::ffff:10.99.0.11' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.web.backends[2].address' },
  { name: 'add a garbage address', method: 'POST', url: BACKENDS, body: be({ address: '10.99.0.30; rm -rf /' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.web.backends[2].address' },
  { name: 'add the port\'s own address', method: 'POST', url: BACKENDS, body: be({ address: '10.99.0.2' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.web.backends[2].address: 10.99.0.2 is the own address' },
  { name: 'add an off-link backend (dsr)', method: 'POST', url: BACKENDS, body: be({ address: '192.0.2.30' }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.web.backends[2].address' },
  { name: 'add a backend on another port (dsr)', method: 'POST', url: BACKENDS, body: be({ port: 8080 }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.web.backends[2].port' },
  { name: 'add with an unknown field', method: 'POST', url: BACKENDS, body: be({ id: 3 }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/id is not a known field' },
  { name: 'add with an unknown nested field', method: 'POST', url: BACKENDS, body: be({ healthCheck: { interval: 5 } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/interval is not a known field' },
  { name: 'add with state that does not exist', method: 'POST', url: BACKENDS, body: be({ state: 'up' }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/state must be one of: active, drain, disabled' },
  { name: 'add with a reversed expectStatus', method: 'POST', url: BACKENDS, body: be({ healthCheck: { expectStatus: '299-200' } }), expectStatus: 400, expectCode: invalid, messageIncludes: 'services.web.backends[2].healthCheck.expectStatus' },
  { name: 'add with a control character in the health path', method: 'POST', url: BACKENDS, body: be({ healthCheck: { path: '/\u0007' } }), expectStatus: 400, expectCode: bad, messageIncludes: 'body/healthCheck/path' },
  { name: 'add without a body', method: 'POST', url: BACKENDS, contentType: null, expectStatus: 400, expectCode: bad, messageIncludes: 'body must be object' },
  { name: 'add a list of backends', method: 'POST', url: BACKENDS, body: [be()], expectStatus: 400, expectCode: bad, messageIncludes: 'body must be object' },
  { name: 'add with an empty JSON body', method: 'POST', url: BACKENDS, body: '', expectStatus: 400, expectCode: bad, messageIncludes: 'Body cannot be empty' },
  { name: 'add with a query', method: 'POST', url: `${BACKENDS}?weight=5`, body: be(), expectStatus: 400, expectCode: bad, messageIncludes: 'querystring/weight is not a known field' },
  { name: 'PUT the backend collection', method: 'PUT', url: BACKENDS, body: [be()], expectStatus: 405, expectCode: 'SLUICE_METHOD_NOT_ALLOWED', messageIncludes: 'PUT is not allowed on /api/v1/services/web/backends' },
  { name: 'DELETE the backend collection', method: 'DELETE', url: BACKENDS, expectStatus: 405, expectCode: 'SLUICE_METHOD_NOT_ALLOWED', messageIncludes: 'DELETE is not allowed on /api/v1/services/web/backends' },

  // --- GET/PATCH/DELETE /services/:name/backends/:backend
  { name: 'key without a port', method: 'GET', url: `${BACKENDS}/10.99.0.11`, expectStatus: 400, expectCode: bad, messageIncludes: 'backend "10.99.0.11" is not address:port' },
  { name: 'key with port 0', method: 'GET', url: `${BACKENDS}/10.99.0.11:0`, expectStatus: 400, expectCode: bad, messageIncludes: '10.99.0.11:0' },
  { name: 'key with port 65536', method: 'PATCH', url: `${BACKENDS}/10.99.0.11:65536`, body: { weight: 1 }, expectStatus: 400, expectCode: bad, messageIncludes: '10.99.0.11:65536' },
  { name: 'key with a negative port', method: 'DELETE', url: `${BACKENDS}/10.99.0.11:-80`, expectStatus: 400, expectCode: bad, messageIncludes: '10.99.0.11:-80' },
  { name: 'key with a leading-zero address', method: 'DELETE', url: `${BACKENDS}/010.99.0.11:80`, expectStatus: 400, expectCode: bad, messageIncludes: '010.99.0.11:80' },
  { name: 'key is garbage', method: 'GET', url: `${BACKENDS}/${encodeURIComponent('<script>')}`, expectStatus: 400, expectCode: bad, messageIncludes: 'backend "<script>"' },
  { name: 'IPv6 key without brackets', method: 'DELETE', url: `${BACKENDS}/${encodeURIComponent('2001:db8::1:80')}`, expectStatus: 400, expectCode: bad, messageIncludes: '2001:db8::1:80' },
  { name: 'IPv6 key with a broken address', method: 'GET', url: `${BACKENDS}/${encodeURIComponent('[2001:db8:::1]:80')}`, expectStatus: 400, expectCode: bad, messageIncludes: '[2001:db8:::1]:80' },
  { name: 'unknown backend', method: 'GET', url: `${BACKENDS}/10.99.0.99:80`, expectStatus: 404, expectCode: 'SLUICE_NOT_FOUND', messageIncludes: 'service "web" has no backend 10.99.0.99:80' },
  { name: 'backend of an unknown service', method: 'PATCH', url: `${SERVICES}/nope/backends/10.99.0.11:80`, body: { weight: 1 }, expectStatus: 404, expectCode: 'SLUICE_NOT_FOUND', messageIncludes: '"nope"' },
  { name: 'backend of an impossible service name', method: 'DELETE', url: `${SERVICES}/${encodeURIComponent('we b')}/backends/10.99.0.11:80`, expectStatus: 400, expectCode: bad, messageIncludes: 'params/name must be 1 to 32' },
  { name: 'DELETE an unknown backend', method: 'DELETE', url: `${BACKENDS}/10.99.0.99:80`, expectStatus: 404, expectCode: 'SLUICE_NOT_FOUND', messageIncludes: '10.99.0.99:80' },
  { name: 'PATCH with nothing', method: 'PATCH', url: BACKEND, body: {}, expectStatus: 400, expectCode: bad, messageIncludes: 'body needs at least one of: weight, state' },
  { name: 'PATCH without a body', method: 'PATCH', url: BACKEND, contentType: null, expectStatus: 400, expectCode: bad, messageIncludes: 'body must be object' },
  { name: 'PATCH weight as a string', method: 'PATCH', url: BACKEND, body: { weight: '5' }, expectStatus: 400, expectCode: bad, messageIncludes: 'body/weight must be integer' },
  { name: 'PATCH weight -1', method: 'PATCH', url: BACKEND, body: { weight: -1 }, expectStatus: 400, expectCode: bad, messageIncludes: 'body/weight must be >= 0' },
  { name: 'PATCH weight 65536', method: 'PATCH', url: BACKEND, body: { weight: 65536 }, expectStatus: 400, expectCode: bad, messageIncludes: 'body/weight must be <= 65535' },
  { name: 'PATCH weight 2.5', method: 'PATCH', url: BACKEND, body: { weight: 2.5 }, expectStatus: 400, expectCode: bad, messageIncludes: 'body/weight must be integer' },
  { name: 'PATCH weight null', method: 'PATCH', url: BACKEND, body: { weight: null }, expectStatus: 400, expectCode: bad, messageIncludes: 'body/weight must be integer' },
  { name: 'PATCH state that does not exist', method: 'PATCH', url: BACKEND, body: { state: 'DRAIN' }, expectStatus: 400, expectCode: bad, messageIncludes: 'body/state must be one of: active, drain, disabled' },
  { name: 'PATCH a field it does not change', method: 'PATCH', url: BACKEND, body: { weight: 1, address: '10.99.0.13' }, expectStatus: 400, expectCode: bad, messageIncludes: 'body/address is not a known field' },
  { name: 'PATCH with a valid field and a bad one changes neither', method: 'PATCH', url: BACKEND, body: { weight: 7, state: 'gone' }, expectStatus: 400, expectCode: bad, messageIncludes: 'body/state must be one of' },
  { name: 'PATCH an array', method: 'PATCH', url: BACKEND, body: [{ weight: 1 }], expectStatus: 400, expectCode: bad, messageIncludes: 'body must be object' },
  { name: 'PATCH malformed JSON', method: 'PATCH', url: BACKEND, body: '{weight: 1}', expectStatus: 400, expectCode: bad, messageIncludes: 'not valid JSON' },
  { name: 'PATCH with a query', method: 'PATCH', url: `${BACKEND}?weight=1`, body: { weight: 1 }, expectStatus: 400, expectCode: bad, messageIncludes: 'querystring/weight is not a known field' },
  { name: 'PATCH as form data', method: 'PATCH', url: BACKEND, body: 'weight=1', contentType: 'application/x-www-form-urlencoded', expectStatus: 400, expectCode: bad, messageIncludes: 'content-type: application/json' },
  { name: 'PUT a backend', method: 'PUT', url: BACKEND, body: be(), expectStatus: 405, expectCode: 'SLUICE_METHOD_NOT_ALLOWED', messageIncludes: 'PUT is not allowed on' },
  { name: 'POST to a backend', method: 'POST', url: BACKEND, body: be(), expectStatus: 405, expectCode: 'SLUICE_METHOD_NOT_ALLOWED', messageIncludes: 'POST is not allowed on' },

  // --- the read-only views
  { name: 'ports with a query', method: 'GET', url: '/api/v1/ports?port=p0', expectStatus: 400, expectCode: bad, messageIncludes: 'querystring/port is not a known field' },
  { name: 'POST to ports', method: 'POST', url: '/api/v1/ports', body: {}, expectStatus: 405, expectCode: 'SLUICE_METHOD_NOT_ALLOWED', messageIncludes: 'POST is not allowed on /api/v1/ports' },
  { name: 'lcores with a query', method: 'GET', url: '/api/v1/lcores?lcore=1', expectStatus: 400, expectCode: bad, messageIncludes: 'querystring/lcore is not a known field' },
  { name: 'DELETE lcores', method: 'DELETE', url: '/api/v1/lcores', expectStatus: 405, expectCode: 'SLUICE_METHOD_NOT_ALLOWED', messageIncludes: 'DELETE is not allowed on /api/v1/lcores' },
  { name: 'stats with a query', method: 'GET', url: '/api/v1/stats?reset=true', expectStatus: 400, expectCode: bad, messageIncludes: 'querystring/reset is not a known field' },
  { name: 'DELETE stats (no reset)', method: 'DELETE', url: '/api/v1/stats', expectStatus: 405, expectCode: 'SLUICE_METHOD_NOT_ALLOWED', messageIncludes: 'DELETE is not allowed on /api/v1/stats' },
  { name: 'an unknown route', method: 'GET', url: '/api/v1/backends', expectStatus: 404, expectCode: 'SLUICE_NOT_FOUND', messageIncludes: 'no route GET /api/v1/backends' },
  { name: 'an unknown API version', method: 'GET', url: '/api/v2/services', expectStatus: 404, expectCode: 'SLUICE_NOT_FOUND', messageIncludes: 'no route GET /api/v2/services' },
];

function injectOptions(r: HostileRequest): InjectOptions {
  const headers: Record<string, string> = { ...r.headers };
  const payload = r.body === undefined ? undefined : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  const contentType = r.contentType === undefined ? (payload === undefined ? null : 'application/json') : r.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  return { method: r.method, url: r.url, headers, ...(payload === undefined ? {} : { payload }) };
}

async function rawGet(url: string): Promise<string> {
  const res = await app.inject({ method: 'GET', url });
  assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
  return res.body;
}

/**
 * Everything a refused request must leave alone, as text: every GET of
 * services and backends, the state file's bytes and the snapshot generation
 * (no configuration reached the data plane).
 */
async function wholeState(): Promise<Record<string, string>> {
  const out: Record<string, string> = { [SERVICES]: await rawGet(SERVICES) };
  const services = JSON.parse(out[SERVICES]) as { name: string; backends: { key: string }[] }[];
  for (const s of services) {
    const base = `${SERVICES}/${s.name}`;
    out[base] = await rawGet(base);
    out[`${base}/backends`] = await rawGet(`${base}/backends`);
    for (const b of s.backends) {
      out[`${base}/backends/${b.key}`] = await rawGet(`${base}/backends/${encodeURIComponent(b.key)}`);
    }
  }
  out.stateFile = stateTextOnDisk(stateFile) ?? '';
  out.generation = String(dataplane.stats().generation);
  return out;
}

/** The documented error shape, a registry code, its status, no internals. */
function assertErrorBody(text: string, status: number, code: ErrorCode, messageIncludes: string): void {
  const body = JSON.parse(text) as { statusCode: number; code: string; error: string; message: string };
  const documented = Object.keys(ErrorSchema.properties);
  assert.deepEqual(Object.keys(body).filter((k) => !documented.includes(k)), [], `only documented fields: ${text}`);
  assert.equal(typeof body.error, 'string');
  assert.equal(typeof body.message, 'string');
  assert.ok(Object.hasOwn(ErrorCodes, body.code), `${body.code} is in src/errors.ts`);
  assert.equal(body.code, code, text);
  assert.equal(body.statusCode, status);
  assert.equal(ErrorCodes[code].status, status, 'the status comes from the registry');
  assert.ok(body.message.includes(messageIncludes), `"${body.message}" should say "${messageIncludes}"`);
  assert.ok(!/\n\s+at /.test(text) && !text.includes('node_modules'), 'no stack trace');
}

/**
 * A 405's Allow header lists exactly the methods the path (of something that
 * exists) answers with neither 404 nor 405. Each is tried in a way that cannot
 * change anything: POST, PUT and PATCH with a body every route refuses; DELETE is
 * not tried, only required to be listed where the API has it.
 */
async function assertAllowIsTrue(url: string, allow: string): Promise<void> {
  const listed = allow.split(', ');
  const deletable = /\/services\/[^/]+(\/backends\/[^/]+)?$/.test(url);
  assert.equal(listed.includes('DELETE'), deletable, `DELETE on ${url}; Allow: ${allow}`);
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH'] as const) {
    const res = await app.inject({ method, url, headers: { 'content-type': 'application/json' }, payload: method === 'GET' || method === 'HEAD' ? undefined : '[]' });
    const routed = res.statusCode !== 404 && res.statusCode !== 405;
    assert.equal(listed.includes(method), routed, `${method} ${url} answered ${res.statusCode}; Allow: ${allow}`);
  }
}

describe('hostile requests to every /api/v1 route: 4xx, a coded error naming the field, no change', () => {
  test('the table covers every route and method of /api/v1', () => {
    const routes = ['GET /services', 'POST /services', 'GET /services/:name', 'PUT /services/:name',
      'DELETE /services/:name', 'GET /services/:name/backends', 'POST /services/:name/backends',
      'GET /services/:name/backends/:backend', 'PATCH /services/:name/backends/:backend',
      'DELETE /services/:name/backends/:backend', 'GET /ports', 'GET /lcores', 'GET /stats'];
    const shape = (url: string) => url.replace(/^\/api\/v1/, '').split('?')[0]
      .replace(/^\/services\/[^/]+\/backends\/[^/]+$/, '/services/:name/backends/:backend')
      .replace(/^\/services\/[^/]+\/backends$/, '/services/:name/backends')
      .replace(/^\/services\/[^/]+$/, '/services/:name');
    const covered = new Set(table.map((r) => `${r.method} ${shape(r.url)}`));
    assert.deepEqual(routes.filter((r) => !covered.has(r)), []);
  });

  for (const r of table) {
    test(`${r.method} ${r.url.length > 50 ? `${r.url.slice(0, 50)}…` : r.url}: ${r.name} -> ${r.expectStatus} ${r.expectCode}`, async () => {
      const before = await wholeState();
      const res = await app.inject(injectOptions(r));
      assert.equal(res.statusCode, r.expectStatus, res.body);
      assertErrorBody(res.body, r.expectStatus, r.expectCode, r.messageIncludes);
      assert.deepEqual(await wholeState(), before, 'nothing changed');
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      if (r.expectStatus === 405) await assertAllowIsTrue(r.url, String(res.headers.allow));
    });
  }

  test('the same values that are refused above are accepted when they are right (the table is not refusing everything)', async () => {
    const before = await wholeState();
    const ok = await app.inject({ method: 'POST', url: SERVICES, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(svc({
      healthCheck: { type: 'http', path: '/health%20z?x=1&y=~', expectStatus: '200-299' },
      backends: [be({ weight: 65535, healthCheck: { expectStatus: '204' } })],
    })) });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.notEqual(stateTextOnDisk(stateFile), before.stateFile, 'the accepted change is in the state file');
    const gone = await app.inject({ method: 'DELETE', url: `${SERVICES}/new` });
    assert.equal(gone.statusCode, 204);
  });
});

/**
 * Sends `bytes` of body over a raw socket and returns the response the server
 * wrote before it closed the connection. The server stops reading at the limit
 * and closes with our unread bytes in its buffer, which resets the connection
 * and can drop its answer from ours (Node does no lingering close); so, like a
 * client that reads while it sends, this one paces its chunks and stops when
 * the answer is in.
 */
function postLarge(url: string, bytes: number, chunked: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const socket = net.connect({ host: u.hostname, port: Number(u.port) });
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      received += d;
      answered = true;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n([^]*)$/.exec(received);
      if (m === null) reject(new Error(`no HTTP response before the connection closed: ${JSON.stringify(received.slice(0, 200))}`));
      else resolve({ status: Number(m[1]), body: m[2] });
    });
    socket.setTimeout(20_000, () => socket.destroy());
    const framing = chunked ? 'transfer-encoding: chunked' : `content-length: ${bytes}`;
    socket.write(`POST ${u.pathname} HTTP/1.1\r\nhost: ${u.host}\r\ncontent-type: application/json\r\n${framing}\r\nconnection: close\r\n\r\n`);
    const chunk = Buffer.alloc(65536, 'x');
    let sent = 0;
    let answered = false;
    const pump = (): void => {
      if (sent < bytes && !socket.destroyed && !answered) {
        const n = Math.min(chunk.length, bytes - sent);
        sent += n;
        const data = chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), chunk.subarray(0, n), Buffer.from('\r\n')]) : chunk.subarray(0, n);
        socket.write(data);
        setTimeout(pump, 100);
        return;
      }
      if (chunked && !socket.destroyed && !answered) socket.write('0\r\n\r\n');
    };
    pump();
  });
}

/** A change as the client saw it: what it asked and what the daemon answered. */
interface Outcome {
  kind: 'post' | 'patch' | 'delete';
  weight?: number;
  status: number;
  body: { weight?: number; code?: string; message?: string };
}

interface BackendState {
  present: boolean;
  weight: number;
}

/** What `op` does to `s` and the status it must have answered then; undefined if it cannot have run at that point. */
function step(s: BackendState, op: Outcome): BackendState | undefined {
  switch (op.kind) {
    case 'post':
      if (s.present) return op.status === 409 ? s : undefined;
      return op.status === 201 ? { present: true, weight: op.weight! } : undefined;
    case 'delete':
      if (s.present) return op.status === 204 ? { present: false, weight: 0 } : undefined;
      return op.status === 404 ? s : undefined;
    case 'patch':
      if (!s.present) return op.status === 404 ? s : undefined;
      return op.status === 200 && op.body.weight === op.weight ? { present: true, weight: op.weight! } : undefined;
  }
}

/** Some order of all `ops`, from `initial`, in which every answer is the one given and which ends in `final`. */
function serialOrder(initial: BackendState, ops: Outcome[], final: BackendState): number[] | undefined {
  const seen = new Set<string>();
  const search = (s: BackendState, done: number, order: number[]): number[] | undefined => {
    if (order.length === ops.length) return s.present === final.present && (!s.present || s.weight === final.weight) ? order : undefined;
    const key = `${done}/${s.present}/${s.weight}`;
    if (seen.has(key)) return undefined;
    seen.add(key);
    for (let i = 0; i < ops.length; i++) {
      if (done & (1 << i)) continue;
      const next = step(s, ops[i]);
      const found = next && search(next, done | (1 << i), [...order, i]);
      if (found) return found;
    }
    return undefined;
  };
  return search(initial, 0, []);
}

describe('a real daemon: bodies over the limit and conflicting concurrent changes', () => {
  let d: DaemonProcess;
  let daemonDir: string;
  let daemonState: string;

  before(async () => {
    daemonDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-hostile-daemon-'));
    const cfg = daemonConfig(daemonDir, { api: { listen: '127.0.0.1:0', bodyLimitBytes: BODY_LIMIT } });
    daemonState = cfg.stateFile as string;
    d = await startDaemon(daemonDir, cfg);
  });
  after(async () => {
    if (d !== undefined && d.child.exitCode === null) await d.stop();
    fs.rmSync(daemonDir, { recursive: true, force: true });
    removeStaleRuntimeDirs();
  });

  const send = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`${d.url}${url}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    return { status: res.status, text, body: text === '' ? {} : JSON.parse(text) };
  };
  const stateText = () => stateTextOnDisk(daemonState) ?? '';
  const services = async () => (await send('GET', SERVICES)).body as { name: string; vip: string; backends: { key: string; weight: number }[] }[];
  /** The state file's services as the API would show them, for comparing the two. */
  const persisted = () => servicesOnDisk<{ name: string; backends: { address: string; port: number; weight: number }[] }>(daemonState)
    .map((s) => ({ name: s.name, backends: s.backends.map((b) => `${b.address}:${b.port} w${b.weight}`) }));
  const shown = async () => (await services()).map((s) => ({ name: s.name, backends: s.backends.map((b) => `${b.key} w${b.weight}`) }));

  test('bodies over the limit get 413 with or without a content-length, and the daemon serves on', async () => {
    // Make the state file exist, so "unchanged" means the same bytes.
    assert.equal((await send('POST', `${SERVICES}/web/backends`, { address: '10.99.0.12', port: 80, mac: '02:00:00:00:00:12' })).status, 201);
    // Rates are measured (a 1 s sampler, whose first rates may land between the two reads), not configured.
    const unmeasured = (text: string) => JSON.stringify(JSON.parse(text), (k, v: unknown) => (k === 'rates' ? undefined : v));
    const before = { api: unmeasured((await send('GET', SERVICES)).text), file: stateText() };
    for (const [bytes, chunked] of [[BODY_LIMIT + 1, false], [1 << 20, false], [16 << 20, true]] as const) {
      const res = await postLarge(`${d.url}${SERVICES}`, bytes, chunked);
      console.log(`# ${bytes} bytes${chunked ? ' chunked' : ''}: ${res.status}`);
      assert.equal(res.status, 413, res.body);
      assertErrorBody(res.body, 413, 'SLUICE_PAYLOAD_TOO_LARGE', `larger than ${BODY_LIMIT} bytes`);
      assert.equal((await fetch(`${d.url}/healthz`)).status, 200);
    }
    assert.equal(unmeasured((await send('GET', SERVICES)).text), before.api);
    assert.equal(stateText(), before.file);
  });

  test('20 parallel POSTs of one service name: one 201, nineteen 409 naming it, one service in the API and the file', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      send('POST', SERVICES, { name: 'race', vip: `10.99.1.${i + 1}`, port: 80 })));
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, ...Array<number>(19).fill(409)]);
    for (const r of results.filter((x) => x.status === 409)) {
      assertErrorBody(r.text, 409, 'SLUICE_CONFLICT', 'a service named "race" already exists');
    }
    const winner = results.find((r) => r.status === 201)!.body as { vip: string };
    const race = (await services()).filter((s) => s.name === 'race');
    assert.deepEqual(race.map((s) => s.vip), [winner.vip], 'the winner\'s body is what is stored');
    assert.deepEqual(persisted(), await shown(), 'the state file agrees');
  });

  test('20 parallel POSTs of different names on one VIP:port: one wins, the rest are 409 naming the winner', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      send('POST', SERVICES, { name: `vip-${i}`, vip: '10.99.2.1', port: 443 })));
    const won = results.filter((r) => r.status === 201);
    assert.equal(won.length, 1);
    const winner = (won[0].body as { name: string }).name;
    for (const r of results.filter((x) => x.status !== 201)) {
      assertErrorBody(r.text, 409, 'SLUICE_CONFLICT', `10.99.2.1:443/tcp is already served by service "${winner}"`);
    }
    assert.deepEqual((await services()).filter((s) => s.name.startsWith('vip-')).map((s) => s.name), [winner]);
    assert.deepEqual(persisted(), await shown());
  });

  test('parallel POST, PATCH and DELETE of one backend: every answer fits one serial order, which ends in the stored state', async () => {
    const key = '10.99.0.13:80';
    const url = `${SERVICES}/web/backends/${encodeURIComponent(key)}`;
    assert.equal((await send('POST', `${SERVICES}/web/backends`, { address: '10.99.0.13', port: 80, weight: 1, mac: '02:00:00:00:00:13' })).status, 201);
    const requests: { kind: Outcome['kind']; weight?: number; run: () => ReturnType<typeof send> }[] = [];
    for (let i = 0; i < 6; i++) {
      const weight = 10 + i;
      requests.push({ kind: 'post', weight, run: () => send('POST', `${SERVICES}/web/backends`, { address: '10.99.0.13', port: 80, weight, mac: '02:00:00:00:00:13' }) });
      requests.push({ kind: 'delete', run: () => send('DELETE', url) });
    }
    for (let i = 0; i < 8; i++) {
      const weight = 200 + i;
      requests.push({ kind: 'patch', weight, run: () => send('PATCH', url, { weight }) });
    }
    const answers = await Promise.all(requests.map((r) => r.run()));
    const outcomes: Outcome[] = requests.map((r, i) => ({ kind: r.kind, weight: r.weight, status: answers[i].status, body: answers[i].body }));
    for (const o of outcomes.filter((x) => x.status >= 400)) {
      const expected = o.status === 409 ? 'already has backend 10.99.0.13:80' : 'has no backend 10.99.0.13:80';
      assertErrorBody(JSON.stringify(o.body), o.status, o.status === 409 ? 'SLUICE_CONFLICT' : 'SLUICE_NOT_FOUND', expected);
    }
    const web = (await services()).find((s) => s.name === 'web')!;
    const b = web.backends.find((x) => x.key === key);
    const final: BackendState = { present: b !== undefined, weight: b?.weight ?? 0 };
    const order = serialOrder({ present: true, weight: 1 }, outcomes, final);
    const tally = outcomes.reduce<Record<string, number>>((m, o) => ((m[`${o.kind} ${o.status}`] = (m[`${o.kind} ${o.status}`] ?? 0) + 1), m), {});
    console.log(`# 20 concurrent changes to ${key}: ${JSON.stringify(tally)}; final ${JSON.stringify(final)}`);
    assert.ok(order, `no serial order explains these answers: ${JSON.stringify(outcomes.map((o) => [o.kind, o.weight, o.status]))}`);
    assert.deepEqual(persisted(), await shown(), 'the state file agrees');
    assert.equal((await fetch(`${d.url}/healthz`)).status, 200);
  });
});
