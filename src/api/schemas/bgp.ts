// GET /api/v1/bgp: the node's BGP speaker, its peers and what it announces.
import { Type } from '@sinclair/typebox';
import { strict } from './common';

const Count = (description: string) => Type.Integer({ minimum: 0, description });

export const BgpPeerView = Type.Object(
  {
    address: Type.String(),
    asn: Type.Integer({ minimum: 0 }),
    state: Type.Union(['unknown', 'idle', 'connect', 'active', 'opensent', 'openconfirm', 'established'].map((s) => Type.Literal(s)), {
      description: 'the BGP session\'s state as of the last poll (every second); unknown before the first',
    }),
    uptimeSec: Type.Optional(Type.Integer({ minimum: 0, description: 'since the session was established; absent while it is not' })),
    received: Count('paths received from the peer (IPv4 and IPv6 unicast)'),
    advertised: Count('paths advertised to the peer'),
  },
  strict,
);

export const BgpVipView = Type.Object(
  {
    vip: Type.String(),
    prefix: Type.String({ description: 'the VIP as a /32 or /128' }),
    announced: Type.Boolean({ description: 'whether gobgpd announces it now' }),
    reason: Type.String({ description: 'why it is announced or not (the policy\'s reason, or gobgpd\'s refusal)' }),
  },
  strict,
);

export const BgpView = Type.Object(
  {
    enabled: Type.Boolean({ description: 'false when the config has no bgp section (and nothing else is given)' }),
    asn: Type.Optional(Type.Integer()),
    routerId: Type.Optional(Type.String()),
    speaker: Type.Optional(Type.Union([Type.Literal('running'), Type.Literal('down')], {
      description: 'running: gobgpd runs and is configured; down: between its death and its restart',
    })),
    peers: Type.Optional(Type.Array(BgpPeerView, { description: 'the configured neighbors' })),
    vips: Type.Optional(Type.Array(BgpVipView, { description: 'every service VIP, and any still announced that no service has' })),
  },
  strict,
);
