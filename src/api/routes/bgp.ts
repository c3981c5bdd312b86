// /api/v1/bgp: the BGP speaker's peers and each VIP, announced or not and why
// (docs/bgp.md). Reads the speaker's last evaluation and peer poll; asks
// gobgpd nothing, so it answers even while gobgpd restarts.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { NO_BGP } from '../../bgp/view';
import type { ApiContext } from '../context';
import { ALWAYS, errorResponses } from '../schemas/common';
import { BgpView } from '../schemas/bgp';

export const bgpRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, { bgp = NO_BGP }) => {
  app.get('/bgp', {
    schema: {
      tags: ['data plane'],
      summary: 'BGP: the speaker, its peers (state, uptime, paths received and advertised), each VIP announced or not and why',
      response: { 200: BgpView, ...errorResponses(...ALWAYS) },
    },
  }, async () => bgp.status());
};
