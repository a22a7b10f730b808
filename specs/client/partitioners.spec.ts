// Partitioners: murmur2 is bit-identical to Kafka's (vectors published by Kafka's UtilsTest and librdkafka's
// rdmurmur2.c, plus an independent BigInt implementation of the algorithm for arbitrary bytes), keyed records map to
// toPositive(hash) % n, and null-key records stick to one partition until a new batch is needed (KIP-480).
import test from 'ava';
import fc from 'fast-check';
import { murmur2, partitionForKey, toPositive } from '../../src/client/murmur2.js';
import { StickyPartitioner } from '../../src/client/sticky-partitioner.js';
import { createSeededRandom } from '../../src/runtime/seeded-random.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

// Signed 32-bit results of Kafka's Utils.murmur2.
const kafkaVectors: Array<[string, number]> = [
  // org.apache.kafka.common.utils.UtilsTest#testMurmur2
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
  // librdkafka's rdmurmur2.c unit test (the same function, as unsigned hex there)
  ['kafka', -798503068],
  ['giberish123456789', -1890243828],
  ['1234', -1614185708],
  ['234', -406844982],
  ['34', -2026295078],
  ['4', 1514888353],
  ['PreAmbleWillBeRemoved,ThePrePartThatIs', 2017611548],
  ['reAmbleWillBeRemoved,ThePrePartThatIs', 1247982455],
  ['eAmbleWillBeRemoved,ThePrePartThatIs', -521871202],
  ['AmbleWillBeRemoved,ThePrePartThatIs', 1656271935],
  ['', 275646681],
];

test('murmur2: matches the hashes published by Kafka and librdkafka', (t) => {
  for (const [key, expected] of kafkaVectors) t.is(murmur2(utf8(key)), expected, key);
});

/** The algorithm again, written with BigInt modular arithmetic instead of Math.imul: an independent check. */
function murmur2Reference(data: Uint8Array): number {
  const mask = (1n << 32n) - 1n;
  const m = 0x5bd1e995n;
  let h = (0x9747b28cn ^ BigInt(data.length)) & mask;
  const blocks = Math.floor(data.length / 4);
  for (let i = 0; i < blocks; i++) {
    let k = BigInt(data[4 * i]!) | (BigInt(data[4 * i + 1]!) << 8n) | (BigInt(data[4 * i + 2]!) << 16n) | (BigInt(data[4 * i + 3]!) << 24n);
    k = (k * m) & mask;
    k ^= k >> 24n;
    k = (k * m) & mask;
    h = (h * m) & mask;
    h ^= k;
  }
  const tail = blocks * 4;
  const rest = data.length - tail;
  if (rest >= 3) h ^= BigInt(data[tail + 2]!) << 16n;
  if (rest >= 2) h ^= BigInt(data[tail + 1]!) << 8n;
  if (rest >= 1) {
    h ^= BigInt(data[tail]!);
    h = (h * m) & mask;
  }
  h ^= h >> 13n;
  h = (h * m) & mask;
  h ^= h >> 15n;
  return Number(BigInt.asIntN(32, h));
}

test('murmur2: agrees with an independent BigInt implementation on arbitrary bytes (high bytes included)', (t) => {
  for (const [key, expected] of kafkaVectors) t.is(murmur2Reference(utf8(key)), expected, `reference on ${key}`);
  t.is(murmur2(Uint8Array.of(0xff, 0xfe, 0x80)), murmur2Reference(Uint8Array.of(0xff, 0xfe, 0x80)));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => murmur2(bytes) === murmur2Reference(bytes)), { numRuns: 500 });
});

test('key partitioner: toPositive(murmur2(key)) % numPartitions, as Kafka places keyed records', (t) => {
  // toPositive clears the sign bit: -973932308 & 0x7fffffff = 1173551340.
  t.is(toPositive(-973932308), 1173551340);
  t.is(toPositive(-2147483648), 0);
  t.is(partitionForKey(utf8('21'), 3), 1173551340 % 3);
  t.is(partitionForKey(utf8('21'), 3), 0);
  // 'foobar': -790332482 & 0x7fffffff = 1357151166; % 10 = 6, % 7 = 1357151166 - 7 * 193878738 = 0.
  t.is(partitionForKey(utf8('foobar'), 10), 6);
  t.is(partitionForKey(utf8('foobar'), 7), 0);
  // 'abc' is positive already: 479470107 % 6 = 479470107 - 6 * 79911684 = 3.
  t.is(partitionForKey(utf8('abc'), 6), 3);
  t.is(partitionForKey(utf8('kafka'), 1), 0);
  t.throws(() => partitionForKey(utf8('x'), 0), { instanceOf: RangeError });
});

test('sticky partitioner: null keys stick to one partition until a new batch is needed, then move elsewhere', (t) => {
  const p = new StickyPartitioner(createSeededRandom('sticky'));
  const choice = { numPartitions: 6, available: [0, 1, 2, 3, 4, 5] };
  const first = p.partition('t', null, choice);
  for (let i = 0; i < 50; i++) t.is(p.partition('t', null, choice), first);
  const seen = new Set<number>([first]);
  let previous = first;
  for (let i = 0; i < 60; i++) {
    const next = p.onNewBatch('t', choice, previous);
    t.not(next, previous, 'a switch leaves the partition whose batch just filled');
    t.is(p.partition('t', null, choice), next);
    seen.add(next);
    previous = next;
  }
  t.is(seen.size, 6, 'over many switches every partition gets a turn');
});

test('sticky partitioner: prefers partitions with a known leader, and a stale onNewBatch does not move twice', (t) => {
  const p = new StickyPartitioner(createSeededRandom(7));
  const choice = { numPartitions: 8, available: [2, 5] };
  const first = p.partition('t', undefined, choice);
  t.true(first === 2 || first === 5);
  const second = p.onNewBatch('t', choice, first);
  t.is(second, first === 2 ? 5 : 2);
  // A second record that raced to the same full batch reports the old partition again: no further move.
  t.is(p.onNewBatch('t', choice, first), second);
  // Keys and explicit partitions bypass stickiness.
  t.is(p.partition('t', utf8('foobar'), { numPartitions: 10, available: [] }), 6);
  t.is(p.partition('t', null, choice, 7), 7);
  t.throws(() => p.partition('t', null, choice, 8), { instanceOf: RangeError });
  // With no leader known anywhere it still picks a partition of the topic.
  const lonely = new StickyPartitioner(createSeededRandom(1)).partition('u', null, { numPartitions: 3, available: [] });
  t.true(lonely >= 0 && lonely < 3);
});
