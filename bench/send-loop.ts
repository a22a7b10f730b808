// The benchmarks' send loop: `records` sends of one value through a Producer, at most 64 Ki unacknowledged, flushed
// at the end. Shared so the producer-alone bench and the cluster bench measure the same client behaviour.
// Like Kafka's ProducerPerformance it sends with a callback per record and counts what came back, rather than
// holding a promise per record: the client's cost per record is then the producer's own, not the loop's.
import type { Producer, SendCallback } from '../src/client/producer.js';

/** Records sent but not yet acknowledged (or failed) at most: ~64 MiB of 1 KiB records. BENCH_SEND_WINDOW overrides. */
const windowRecordsMax = Number(process.env['BENCH_SEND_WINDOW'] ?? 65_536);
if (!Number.isSafeInteger(windowRecordsMax) || windowRecordsMax < 2) throw new RangeError(`BENCH_SEND_WINDOW must be an integer >= 2, got ${windowRecordsMax}`);
/** The loop yields this often: the sender runs on this thread, so a loop that never yields would only queue records. */
const yieldEveryRecords = 256;

/** Sends `records` copies of `value` to `topic` and flushes; resolves with the seconds taken and the failed sends. */
export async function sendWindowed(producer: Producer, topic: string, value: Buffer, records: number): Promise<{ seconds: number; failed: number }> {
  let answered = 0;
  let failed = 0;
  // Set while the loop waits for the window to drain to `resumeAt` answers.
  let resume: (() => void) | undefined;
  let resumeAt = 0;
  const onAnswer: SendCallback = (error) => {
    answered++;
    if (error !== null) failed++;
    if (resume !== undefined && answered >= resumeAt) {
      const go = resume;
      resume = undefined;
      go();
    }
  };
  // produce() keeps nothing of the record object, so one object serves every send.
  const record = { topic, value };
  const start = performance.now();
  for (let sent = 1; sent <= records; sent++) {
    producer.produce(record, onAnswer);
    if (sent - answered >= windowRecordsMax) {
      // Wait for the older half of the window, as the promise-per-record loop did.
      resumeAt = sent - Math.floor(windowRecordsMax / 2);
      await new Promise<void>((r) => {
        resume = r;
      });
    } else if (sent % yieldEveryRecords === 0) {
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  await producer.flush();
  if (answered !== records) throw new Error(`send loop: ${answered} of ${records} records answered after flush()`);
  return { seconds: (performance.now() - start) / 1000, failed };
}
