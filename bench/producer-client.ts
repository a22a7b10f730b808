// The Producer alone, against an in-memory channel that acknowledges every produce at once: how many 1 KiB records
// per second the client side (accumulator, batch encoding, settling every record) sustains on one core, and its CPU
// time per MB, with the same send loop as bench/produce.ts. Run it with `node --cpu-prof` to see where the client
// spends its time without the noise of brokers and sockets. Not part of make test.
//
//   node --import tsx bench/producer-client.ts [--records 200000] [--rounds 3]
import { Producer } from '../src/client/producer.js';
import type { ClientChannel, ClusterMetadata, ProducePartitionResult } from '../src/client/channel.js';
import { createRealRandom, realClock } from '../src/runtime/real/index.js';
import { silentLogger } from '../src/runtime/logger.js';
import { readBatchHeader } from '../src/storage/record-batch.js';
import { sendWindowed } from './send-loop.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const records = option('records', 200_000);
const rounds = option('rounds', 3);
const partitions = 6;
const recordBytes = 1024;

/** A cluster of one broker leading every partition; produce answers at once with consecutive offsets. */
function instantChannel(): ClientChannel {
  const next = new Map<number, number>();
  const metadata: ClusterMetadata = {
    brokers: new Map([[1, { nodeId: 1, address: '127.0.0.1:1' }]]),
    topics: new Map([
      [
        'bench',
        {
          name: 'bench',
          error: null,
          partitions: Array.from({ length: partitions }, (_, p) => ({ partition: p, leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] })),
        },
      ],
    ]),
  };
  return {
    metadata: () => Promise.resolve(metadata),
    initProducerId: () => Promise.resolve({ producerId: 1, producerEpoch: 0 }),
    produce: (_node, call) => {
      const out: ProducePartitionResult[] = call.partitions.map((p) => {
        // Read the header as a broker would, so a malformed batch would show here.
        const header = readBatchHeader(p.records, 0);
        const base = next.get(p.partition) ?? 0;
        next.set(p.partition, base + header.recordCount);
        return { topic: p.topic, partition: p.partition, error: null, baseOffset: base };
      });
      return Promise.resolve(out);
    },
    fetch: () => Promise.reject(new Error('not used')),
    listOffsets: () => Promise.reject(new Error('not used')),
    close: () => {},
  };
}

async function round(): Promise<{ recordsPerS: number; cpuMsPerMb: number }> {
  const producer = new Producer(
    { acks: 'all', lingerMs: 5, batchSizeBytes: 256 * 1024, bufferBytes: 256 * 1024 * 1024 },
    { channel: instantChannel(), clock: realClock, random: createRealRandom(), log: silentLogger },
  );
  const value = Buffer.alloc(recordBytes, 0x61);
  await producer.send({ topic: 'bench', value });
  const cpu0 = process.cpuUsage();
  const { seconds, failed } = await sendWindowed(producer, 'bench', value, records);
  const cpu = process.cpuUsage(cpu0);
  await producer.close();
  if (failed > 0) throw new Error(`${failed} records failed`);
  const mb = (records * recordBytes) / 1e6;
  return { recordsPerS: records / seconds, cpuMsPerMb: (cpu.user + cpu.system) / 1000 / mb };
}

for (let r = 0; r < rounds; r++) {
  const { recordsPerS, cpuMsPerMb } = await round();
  process.stdout.write(`round ${r + 1}: ${(recordsPerS / 1000).toFixed(1)} k records/s (${((recordsPerS * recordBytes) / 1e6).toFixed(1)} MB/s), ${cpuMsPerMb.toFixed(2)} CPU ms/MB\n`);
}
