// Times the controller's pure core on a large cluster: creating many partitions, and fencing a broker that leads a
// share of them (the reaction that must stay fast, since partitions are leaderless until it commits).
// Run: npx tsx bench/controller-core.ts [brokers] [topics] [partitionsPerTopic]
import { performance } from 'node:perf_hooks';
import { applyRecords, checkImage, emptyImage, type MetadataImage } from '../src/controller/image.js';
import { brokerHeartbeat, createTopics, defaultControllerSettings, fenceBroker, isCommandError, registerBroker, type CommandContext, type CommandOutcome } from '../src/controller/commands.js';
import type { Random } from '../src/runtime/random.js';

const [brokers = 30, topics = 100, perTopic = 200] = process.argv.slice(2).map(Number);

let seed = 42;
const next = (): number => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
const random: Random = { next, int: (m) => Math.floor(next() * m), range: (a, b) => a + Math.floor(next() * (b - a)), bytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)), split: () => random };

let image: MetadataImage = emptyImage;
function run<R>(cmd: (img: MetadataImage, ctx: CommandContext) => CommandOutcome<R>): { ms: number; records: number } {
  const t0 = performance.now();
  const out = cmd(image, { nextOffset: image.offset + 1, random, settings: defaultControllerSettings });
  if (isCommandError(out)) throw out;
  image = applyRecords(image, out.records, image.offset + 1);
  return { ms: performance.now() - t0, records: out.records.length };
}

for (let id = 0; id < brokers; id++) {
  const { brokerEpoch } = (() => {
    const out = registerBroker(image, { brokerId: id, incarnationId: `i${id}`, rack: `r${id % 3}`, endpoints: [], previousBrokerEpoch: -1 }, { nextOffset: image.offset + 1, random, settings: defaultControllerSettings });
    if (isCommandError(out)) throw out;
    image = applyRecords(image, out.records, image.offset + 1);
    return out.response;
  })();
  run((img, ctx) => brokerHeartbeat(img, { brokerId: id, brokerEpoch, currentMetadataOffset: img.offset, wantFence: false, wantShutDown: false }, ctx));
}
let createMs = 0;
for (let i = 0; i < topics; i++) createMs += run((img, ctx) => createTopics(img, { topics: [{ name: `t${i}`, numPartitions: perTopic, replicationFactor: 3, configs: {} }], validateOnly: false }, ctx)).ms;
const partitions = topics * perTopic;
const fence = run((img, ctx) => fenceBroker(img, 0, ctx));
const t0 = performance.now();
checkImage(image);
console.log(JSON.stringify({
  brokers,
  partitions,
  createTopicsMsPerPartition: +(createMs / partitions).toFixed(4),
  fenceBrokerMs: +fence.ms.toFixed(1),
  fenceBrokerRecords: fence.records,
  checkImageMs: +(performance.now() - t0).toFixed(1),
}));
