// Service changes at a steady rate while the data plane runs at full speed: the
// hitless-change benchmark. The changes cycle through what operators do: one
// backend removed, added back, and every weight changed. The first backend is
// never touched, so no flow is ever without a backend: any packet lost is lost
// to the change itself.
import type { ServiceConfig } from '../../src/config';
import type { Dataplane } from '../../src/dataplane';

export function hitlessChanges(dp: Dataplane, services: readonly ServiceConfig[], perSec: number): { stop(): number } {
  let applied = 0;
  const base = services.map((s) => ({ ...s, backends: s.backends.map((b) => ({ ...b })) }));
  const variants: ServiceConfig[][] = [
    base.map((s) => ({ ...s, backends: s.backends.slice(0, -1) })),
    base,
    base.map((s) => ({ ...s, backends: s.backends.map((b, i) => ({ ...b, weight: i === 0 ? b.weight : b.weight * 2 })) })),
    base,
  ];
  const timer = setInterval(() => {
    dp.applyServices(variants[applied % variants.length]);
    applied++;
  }, 1000 / perSec);
  return {
    stop() {
      clearInterval(timer);
      return applied;
    },
  };
}
