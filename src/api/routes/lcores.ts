// /api/v1/lcores: each worker lcore, the queues it polls and how busy it is.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { toNativeStart, type SluiceConfig } from '../../config';
import type { ApiContext } from '../context';
import { ALWAYS, errorResponses } from '../schemas/common';
import { LcoreList } from '../schemas/dataplane';

type RxMap = Map<number, { port: string; queue: number }[]>;

/**
 * The queue map the data plane was started with. It comes from toNativeStart,
 * the function that gave it to the data plane, so default spreads are shown as
 * they were dealt; the instance id only names runtime files and is not used.
 */
function rxQueues(cfg: SluiceConfig): RxMap {
  const { workers } = toNativeStart(cfg, 'api');
  return new Map(workers.map((w) => [w.lcore, w.rx.map((r) => ({ port: cfg.ports[r.port].name, queue: r.queue }))]));
}

/** Mean nanoseconds per received packet since start; 0 before the first. */
function perPacketNs(seconds: number, packets: number): number {
  return packets === 0 ? 0 : (seconds * 1e9) / packets;
}

export const lcoreRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, { dataplane, config }) => {
  const rx: RxMap | undefined = config === undefined ? undefined : rxQueues(config);

  app.get('/lcores', {
    schema: {
      tags: ['data plane'],
      summary: 'Worker lcores: rx queues polled, packets, busy ratio, flows, configuration generation',
      response: { 200: LcoreList, ...errorResponses(409, ...ALWAYS) },
    },
  }, async () =>
    dataplane.lcores().map((l) => ({
      lcore: l.lcore,
      ...(rx === undefined ? {} : { rx: rx.get(l.lcore) ?? [] }),
      rxPackets: l.rxPackets,
      txPackets: l.txPackets,
      busyRatio: l.busyRatio,
      nsPerPacket: {
        receive: perPacketNs(l.receiveSeconds, l.rxPackets),
        process: perPacketNs(l.processSeconds, l.rxPackets),
      },
      flows: { active: l.flows.active, capacity: l.flows.capacity },
      generation: l.generation,
    })));
};
