// The benchmarks' send loop: `records` sends of one value through a Producer, at most ~64 Ki unacknowledged, flushed
// at the end. Shared so the producer-alone bench and the cluster bench measure the same client behaviour.
import type { Producer } from '../src/client/producer.js';

/** Sends `records` copies of `value` to `topic` and flushes; resolves with the seconds taken and the failed sends. */
export async function sendWindowed(producer: Producer, topic: string, value: Buffer, records: number): Promise<{ seconds: number; failed: number }> {
  const window: Array<Promise<unknown>> = [];
  let failed = 0;
  const start = performance.now();
  for (let i = 0; i < records; i++) {
    const p = producer.send({ topic, value });
    p.catch(() => failed++);
    window.push(p);
    // Keep at most ~64 MiB unacknowledged: wait for the older half of the window.
    if (window.length >= 65_536) await Promise.allSettled(window.splice(0, 32_768));
    // Yield now and then: the sender runs on this thread, so a loop that never yields would only queue records.
    else if (i % 256 === 255) await new Promise<void>((r) => setImmediate(r));
  }
  await producer.flush();
  return { seconds: (performance.now() - start) / 1000, failed };
}
