// Query and response of GET /api/v1/flows: connections from the worker lcores' tables.
import { Type } from '@sinclair/typebox';
import { ServiceSchema } from '../../config/schema';
import { strict } from './common';

/** Most rows one listing returns (native/common/flow_query.h has the same). */
export const MAX_FLOW_LISTING = 10000;
export const DEFAULT_FLOW_LISTING = 100;

export const FlowQuery = Type.Object(
  {
    service: Type.Optional(ServiceSchema.properties.name),
    backend: Type.Optional(Type.String({
      description: 'address:port of one backend of `service` (IPv6 in brackets); needs `service`',
    })),
    client: Type.Optional(Type.String({ description: "the client's IPv4 or IPv6 address" })),
    // A query string is text, and this API coerces nothing: the number is checked by the route.
    limit: Type.Optional(Type.String({
      pattern: '^[0-9]{1,6}$',
      description: `most rows: 1 to ${MAX_FLOW_LISTING}, default ${DEFAULT_FLOW_LISTING}`,
    })),
  },
  strict,
);

export const FlowView = Type.Object(
  {
    lcore: Type.Integer({ description: 'the worker lcore whose table holds it' }),
    protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
    client: Type.String({ description: 'address:port, IPv6 in brackets' }),
    vip: Type.String({ description: 'address:port the client connected to' }),
    service: Type.Optional(Type.String({ description: 'absent: the service was removed since' })),
    backend: Type.Optional(Type.String({
      description: 'address:port; absent: the backend was removed, and the next packet picks another',
    })),
    pool: Type.Optional(Type.String({ description: 'nat services: the address:port the backend sees as the client' })),
    state: Type.Union([Type.Literal('open'), Type.Literal('opening'), Type.Literal('closing')], {
      description: 'opening: a nat session whose backend has not answered the SYN; closing: FIN or RST seen',
    }),
    ageSec: Type.Number({ description: 'since the flow was first seen (or last moved to another backend)' }),
    idleSec: Type.Number({ description: 'since its last packet' }),
  },
  strict,
);

export const FlowList = Type.Object(
  {
    flows: Type.Array(FlowView),
    truncated: Type.Boolean({ description: 'more connections matched than `limit`' }),
  },
  strict,
);
