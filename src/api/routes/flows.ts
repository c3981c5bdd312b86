// /api/v1/flows: the connections the worker lcores remember, as ipvsadm -Lnc
// lists them. The lcores answer between bursts (native/common/flow_query.h), a
// bounded scan per loop iteration, so a listing neither stops nor stalls them.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { parseBackendKey, writtenBackendKey } from '../../control/backend-key';
import { SluiceError } from '../../errors';
import { normalizeIp } from '../../net/addr';
import type { ApiContext } from '../context';
import { ALWAYS, errorResponses } from '../schemas/common';
import { DEFAULT_FLOW_LISTING, FlowList, FlowQuery, MAX_FLOW_LISTING } from '../schemas/flows';

const endpoint = (address: string, port: number) => writtenBackendKey({ address, port });

export const flowRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, { store, dataplane }) => {
  app.get('/flows', {
    schema: {
      tags: ['data plane'],
      summary: 'Connections in the lcores\' flow tables and nat sessions: 5-tuple, backend, age, idle time, state',
      querystring: FlowQuery,
      response: { 200: FlowList, ...errorResponses(400, 404, 409, 503, ...ALWAYS) },
    },
  }, async (req) => {
    const { service, backend, client } = req.query;
    const limit = req.query.limit === undefined ? DEFAULT_FLOW_LISTING : Number(req.query.limit);
    if (!(limit >= 1 && limit <= MAX_FLOW_LISTING)) {
      throw new SluiceError('SLUICE_BAD_REQUEST', `limit: ${req.query.limit} is not 1 to ${MAX_FLOW_LISTING}`);
    }
    if (backend !== undefined && service === undefined) {
      throw new SluiceError('SLUICE_BAD_REQUEST', 'backend: name its service too (service=NAME)');
    }
    const clientAddress = client === undefined ? undefined : normalizeIp(client);
    if (client !== undefined && clientAddress === undefined) {
      throw new SluiceError('SLUICE_BAD_REQUEST', `client: "${client}" is not an IPv4 or IPv6 address`);
    }
    // Unknown names are 404 here, before any lcore is asked.
    if (service !== undefined) store.get(service);
    const one = backend === undefined ? undefined : parseBackendKey(backend);
    if (one !== undefined && service !== undefined) store.backend(service, writtenBackendKey(one));
    const { flows, truncated } = await dataplane.listFlows({
      ...(service === undefined ? {} : { service }),
      ...(one === undefined ? {} : { backendAddress: one.address, backendPort: one.port }),
      ...(clientAddress === undefined ? {} : { client: clientAddress }),
      limit,
    });
    return {
      flows: flows.map((f) => ({
        lcore: f.lcore,
        protocol: f.protocol,
        client: endpoint(f.clientAddress, f.clientPort),
        vip: endpoint(f.vip, f.vipPort),
        ...(f.service === undefined ? {} : { service: f.service }),
        ...(f.backendAddress === undefined || f.backendPort === undefined ? {} : { backend: endpoint(f.backendAddress, f.backendPort) }),
        ...(f.poolAddress === undefined || f.poolPort === undefined ? {} : { pool: endpoint(f.poolAddress, f.poolPort) }),
        state: f.state,
        ageSec: f.ageMs / 1000,
        idleSec: f.idleMs / 1000,
      })),
      truncated,
    };
  });
};
