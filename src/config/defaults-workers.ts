// The rx queue spread used when the config lists no workers: every (port, queue)
// pair in port order, dealt round-robin over the worker lcores. The deal carries
// on across ports, so with more workers than queues per port the second port's
// queues land on the workers the first port left idle.
import type { NativeWorker } from '../native/types';

/** `workerLcores` excludes the main lcore; `queuesPerPort[i]` is port i's rx queue count. */
export function defaultWorkers(workerLcores: readonly number[], queuesPerPort: readonly number[]): NativeWorker[] {
  const workers: NativeWorker[] = workerLcores.map((lcore) => ({ lcore, rx: [] }));
  if (workers.length === 0) return workers;
  let next = 0;
  queuesPerPort.forEach((queues, port) => {
    for (let queue = 0; queue < queues; queue++) {
      workers[next % workers.length].rx.push({ port, queue });
      next++;
    }
  });
  return workers;
}
