// The gobgpd client's conversions, without a gobgpd: paths built for /32 and
// /128 with their attributes, the answers read back, refused values, API
// addresses that are not local, gRPC errors to codes, /proc socket addresses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { isSluiceError } from '../../src/errors';
import {
  buildPath, checkApiAddress, decodeCommunity, encodeCommunity, GobgpClient, mapGrpcError, toPathEntry, toPeerStatus,
} from '../../src/bgp/gobgp-client';
import { decodeProcAddress } from '../../src/bgp/proc-sockets';

const refused = (err: unknown): boolean => isSluiceError(err, 'SLUICE_BGP_REFUSED');

test('an IPv4 path is a /32 with NEXT_HOP, origin IGP, MED and communities', () => {
  const { family, path } = buildPath({ address: '192.0.2.1', nextHop: '198.51.100.7', med: 10, communities: ['65000:100', '0:0'] });
  assert.equal(family, 'ipv4');
  assert.deepEqual(path, {
    nlri: { '@type': 'type.googleapis.com/apipb.IPAddressPrefix', prefix: '192.0.2.1', prefixLen: 32 },
    pattrs: [
      { '@type': 'type.googleapis.com/apipb.OriginAttribute', origin: 0 },
      { '@type': 'type.googleapis.com/apipb.NextHopAttribute', nextHop: '198.51.100.7' },
      { '@type': 'type.googleapis.com/apipb.MultiExitDiscAttribute', med: 10 },
      { '@type': 'type.googleapis.com/apipb.CommunitiesAttribute', communities: [65000 * 65536 + 100, 0] },
    ],
    family: { afi: 'AFI_IP', safi: 'SAFI_UNICAST' },
  });
});

test('an IPv6 path is a /128 whose next hop travels in MP_REACH_NLRI', () => {
  const { family, path } = buildPath({ address: '2001:db8::1', nextHop: '2001:db8:1::9' });
  assert.equal(family, 'ipv6');
  const nlri = { '@type': 'type.googleapis.com/apipb.IPAddressPrefix', prefix: '2001:db8::1', prefixLen: 128 };
  assert.deepEqual(path.nlri, nlri);
  assert.deepEqual((path.pattrs as unknown[])[1], {
    '@type': 'type.googleapis.com/apipb.MpReachNLRIAttribute',
    family: { afi: 'AFI_IP6', safi: 'SAFI_UNICAST' }, nextHops: ['2001:db8:1::9'], nlris: [nlri],
  });
});

test('bad paths are refused before gobgpd sees them', () => {
  const bad = [
    { address: '192.0.2.1/32', nextHop: '198.51.100.7' },
    { address: 'vip', nextHop: '198.51.100.7' },
    { address: '192.0.2.1', nextHop: '2001:db8::1' },
    { address: '2001:db8::1', nextHop: '198.51.100.7' },
    { address: '192.0.2.1', nextHop: '198.51.100.7', med: -1 },
    { address: '192.0.2.1', nextHop: '198.51.100.7', med: 2 ** 32 },
    { address: '192.0.2.1', nextHop: '198.51.100.7', communities: ['65536:1'] },
    { address: '192.0.2.1', nextHop: '198.51.100.7', communities: ['100'] },
  ];
  for (const spec of bad) assert.throws(() => buildPath(spec), refused, JSON.stringify(spec));
});

test('communities round-trip', () => {
  for (const c of ['0:0', '65535:65535', '65000:1', '1:65000']) assert.equal(decodeCommunity(encodeCommunity(c)), c);
});

test('paths and peers read back from gobgpd\'s answers', () => {
  const now = 1_000_000_000;
  const entry = toPathEntry('192.0.2.1/32', {
    best: true, neighborIp: '127.0.0.1', age: { seconds: String(now / 1000 - 4) },
    pattrs: [
      { '@type': 'type.googleapis.com/apipb.OriginAttribute', origin: 0 },
      { '@type': 'type.googleapis.com/apipb.NextHopAttribute', nextHop: '198.51.100.7' },
      { '@type': 'type.googleapis.com/apipb.MultiExitDiscAttribute', med: 5 },
      { '@type': 'type.googleapis.com/apipb.CommunitiesAttribute', communities: [65000 * 65536 + 100] },
    ],
  }, now);
  assert.deepEqual(entry, {
    prefix: '192.0.2.1/32', nextHop: '198.51.100.7', med: 5, communities: ['65000:100'], best: true,
    neighbor: '127.0.0.1', ageSec: 4,
  });
  const own = toPathEntry('2001:db8::1/128', {
    neighborIp: '<nil>',
    pattrs: [{ '@type': 'type.googleapis.com/apipb.MpReachNLRIAttribute', nextHops: ['2001:db8::9'] }],
  }, now);
  assert.deepEqual(own, { prefix: '2001:db8::1/128', nextHop: '2001:db8::9', communities: [], best: false });

  const peer = toPeerStatus({
    conf: { neighborAddress: '127.0.0.2', peerAsn: 65002 },
    state: { neighborAddress: '127.0.0.2', peerAsn: 65002, sessionState: 'ESTABLISHED', adminState: 'UP', routerId: '10.0.0.2' },
    timers: { state: { uptime: { seconds: now / 1000 - 60 }, negotiatedHoldTime: '9' } },
    afiSafis: [{ state: { received: '2', accepted: '1', advertised: '3' } }, { state: { received: '1', advertised: '1' } }],
  }, now);
  assert.deepEqual(peer, {
    address: '127.0.0.2', asn: 65002, state: 'established', adminState: 'up', uptimeSec: 60,
    negotiatedHoldTimeSec: 9, routerId: '10.0.0.2', received: 3, accepted: 1, advertised: 4,
  });
  const idle = toPeerStatus({ conf: { neighborAddress: '192.0.2.9', peerAsn: 1 }, state: { sessionState: 'ACTIVE' },
    timers: { state: { uptime: { seconds: 5 } } } }, now);
  assert.equal(idle.state, 'active');
  assert.equal(idle.uptimeSec, undefined, 'no uptime unless established');
  assert.equal(idle.address, '192.0.2.9');
});

test('the API address must be 127.0.0.1 or a unix socket', () => {
  for (const ok of ['127.0.0.1:50051', '127.0.0.1:1', 'unix:/run/sluice/gobgpd.sock']) assert.equal(checkApiAddress(ok), ok);
  for (const bad of ['0.0.0.0:50051', ':50051', 'localhost:50051', '127.0.0.2:50051', '[::1]:50051', '10.0.0.1:50051',
    '127.0.0.1:0', '127.0.0.1:65536', 'unix:relative.sock', '127.0.0.1']) {
    assert.throws(() => checkApiAddress(bad), refused, bad);
    assert.throws(() => new GobgpClient({ address: bad }), refused, bad);
  }
});

test('gRPC failures map to codes: no answer is SLUICE_BGP_SPEAKER, a refusal SLUICE_BGP_REFUSED', () => {
  const err = (code: grpc.status, details: string): grpc.ServiceError =>
    Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
  for (const code of [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED]) {
    const e = mapGrpcError('AddPath', err(code, 'x'));
    assert.equal(e.code, 'SLUICE_BGP_SPEAKER');
    assert.match(e.message, /AddPath/);
  }
  const e = mapGrpcError('AddPeer', err(grpc.status.UNKNOWN, "can't overwrite the existing peer: 127.0.0.2"));
  assert.equal(e.code, 'SLUICE_BGP_REFUSED');
  assert.match(e.message, /gobgpd refused AddPeer: can't overwrite the existing peer/);
  assert.deepEqual(e.details, { method: 'AddPeer', grpcCode: 'UNKNOWN' });
});

test('/proc/net/tcp addresses decode', () => {
  assert.deepEqual(decodeProcAddress('0100007F:C351'), { address: '127.0.0.1', port: 50001 });
  assert.deepEqual(decodeProcAddress('00000000:00B3'), { address: '0.0.0.0', port: 179 });
  assert.deepEqual(decodeProcAddress('00000000000000000000000001000000:1F90'), { address: '::1', port: 8080 });
  assert.deepEqual(decodeProcAddress('00000000000000000000000000000000:00B3'), { address: '::', port: 179 });
  assert.deepEqual(decodeProcAddress('B80D0120000000000000000001000000:00B3'), { address: '2001:db8::1', port: 179 });
});
