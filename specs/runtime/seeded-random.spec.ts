// The seeded Random is the root of replayability: these specs pin its determinism, its ranges and split's independence.
import test from 'ava';
import { createSeededRandom } from '../../src/runtime/seeded-random.js';

function draw(seed: number | bigint | string, n: number): number[] {
  const r = createSeededRandom(seed);
  return Array.from({ length: n }, () => r.int(1_000_000));
}

test('seeded-random: the same seed gives the same sequence', (t) => {
  t.deepEqual(draw(42, 100), draw(42, 100));
  t.deepEqual(draw('run-7', 50), draw('run-7', 50));
  t.deepEqual(draw(42, 20), draw(42n, 20), 'an integral number and the equal bigint name the same run');
});

test('seeded-random: different seeds give different sequences', (t) => {
  t.notDeepEqual(draw(1, 20), draw(2, 20));
  t.notDeepEqual(draw('a', 20), draw('b', 20));
  t.notDeepEqual(draw(0, 20), draw('0', 20));
});

test('seeded-random: split depends only on the seed and the label, not on draws made before', (t) => {
  const a = createSeededRandom(9);
  const b = createSeededRandom(9);
  for (let i = 0; i < 37; i++) b.next();
  const sa = a.split('node-1');
  const sb = b.split('node-1');
  t.deepEqual(Array.from({ length: 10 }, () => sa.int(1000)), Array.from({ length: 10 }, () => sb.int(1000)));
  const other = createSeededRandom(9).split('node-2');
  t.notDeepEqual(Array.from({ length: 10 }, () => other.int(1000)), Array.from({ length: 10 }, () => createSeededRandom(9).split('node-1').int(1000)));
});

test('seeded-random: next, int, range and bytes stay in range and are roughly uniform', (t) => {
  const r = createSeededRandom('uniform');
  const buckets = new Array<number>(10).fill(0);
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const x = r.next();
    t.true(x >= 0 && x < 1);
    buckets[Math.floor(x * 10)]! += 1;
  }
  for (const count of buckets) t.true(Math.abs(count - n / 10) < n / 100, `bucket count ${count} is far from ${n / 10}`);
  for (let i = 0; i < 1000; i++) {
    const v = r.range(-5, 5);
    t.true(Number.isInteger(v) && v >= -5 && v < 5);
    const big = r.int(2 ** 40 + 3);
    t.true(Number.isInteger(big) && big >= 0 && big < 2 ** 40 + 3);
  }
  const bytes = r.bytes(4096);
  t.is(bytes.length, 4096);
  t.true(new Set(bytes).size > 200, 'bytes cover most byte values');
  t.throws(() => r.int(0), { instanceOf: RangeError });
  t.throws(() => r.range(3, 3), { instanceOf: RangeError });
});
