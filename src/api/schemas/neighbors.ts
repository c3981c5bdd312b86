// Response body of GET /api/v1/neighbors.
import { Type } from '@sinclair/typebox';
import { strict } from './common';

export const NeighborView = Type.Object(
  {
    address: Type.String({ description: 'IPv4 or IPv6 address' }),
    port: Type.String({ description: 'the port it is reached by' }),
    resolved: Type.Boolean(),
    wanted: Type.Boolean({ description: 'a backend or a gateway needs it; others were only learned' }),
    mac: Type.Optional(Type.String()),
    ageSec: Type.Number({ description: 'seconds since the last ARP reply or neighbor advertisement; -1 when never' }),
    requestsSent: Type.Integer({ description: 'ARP requests or neighbor solicitations sent for it' }),
  },
  strict,
);

export const NeighborList = Type.Array(NeighborView);
