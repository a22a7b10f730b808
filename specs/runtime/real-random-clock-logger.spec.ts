// The small real ports: crypto-backed Random (ranges, uniformity, argument checks), the real Clock (timers,
// monotonic readings, xstate's `clock` option), the pino Logger (node id on every line, child bindings, levels),
// and the assembled real Runtime.
import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createActor, createMachine } from 'xstate';
import { realClock } from '../../src/runtime/real/clock.js';
import { createLogger } from '../../src/runtime/real/logger.js';
import { createRealRandom } from '../../src/runtime/real/random.js';
import { createRealRuntime } from '../../src/runtime/real/index.js';

test('random: int and range stay in bounds, including above 2^32', (t) => {
  const random = createRealRandom();
  for (let i = 0; i < 5000; i++) {
    const small = random.int(7);
    t.true(Number.isInteger(small) && small >= 0 && small < 7);
    const big = random.int(2 ** 40 + 3);
    t.true(Number.isInteger(big) && big >= 0 && big < 2 ** 40 + 3);
    const ranged = random.range(-5, 5);
    t.true(ranged >= -5 && ranged < 5);
    const f = random.next();
    t.true(f >= 0 && f < 1);
  }
  t.is(random.int(1), 0);
});

test('random: int is uniform (chi-square over 6 buckets)', (t) => {
  const random = createRealRandom();
  const draws = 60_000;
  const counts = new Array<number>(6).fill(0);
  for (let i = 0; i < draws; i++) counts[random.int(6)]! += 1;
  const expected = draws / 6;
  const chi = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
  // 5 degrees of freedom: p = 0.0001 at 25.7, so a fair generator fails this about once in 10,000 runs.
  t.true(chi < 25.7, `chi-square ${chi.toFixed(2)} for counts ${counts.join(',')}`);
});

test('random: bytes have the asked length, and split streams differ', (t) => {
  const random = createRealRandom();
  t.is(random.bytes(0).byteLength, 0);
  t.is(random.bytes(33).byteLength, 33);
  t.is(random.bytes(10_000).byteLength, 10_000);
  const a = Buffer.from(random.split('node-1').bytes(32)).toString('hex');
  const b = Buffer.from(random.split('node-1').bytes(32)).toString('hex');
  t.not(a, b);
  t.not(Buffer.from(random.bytes(32)).toString('hex'), Buffer.from(random.bytes(32)).toString('hex'));
});

test('random: bad arguments are RangeErrors', (t) => {
  const random = createRealRandom();
  t.throws(() => random.int(0), { instanceOf: RangeError });
  t.throws(() => random.int(1.5), { instanceOf: RangeError });
  t.throws(() => random.int(2 ** 60), { instanceOf: RangeError });
  t.throws(() => random.range(3, 3), { instanceOf: RangeError });
  t.throws(() => random.bytes(-1), { instanceOf: RangeError });
});

test('clock: timers fire after their delay, clearTimeout cancels, monotonic time never goes back', async (t) => {
  const start = realClock.monotonicMs();
  const fired: string[] = [];
  const cancelled = realClock.setTimeout(() => fired.push('cancelled'), 5);
  realClock.clearTimeout(cancelled);
  await new Promise<void>((resolve) => {
    realClock.setTimeout(() => {
      fired.push('kept');
      resolve();
    }, 20);
  });
  t.deepEqual(fired, ['kept']);
  t.true(realClock.monotonicMs() - start >= 19);
  let last = realClock.monotonicMs();
  for (let i = 0; i < 1000; i++) {
    const now = realClock.monotonicMs();
    t.true(now >= last);
    last = now;
  }
  t.true(Math.abs(realClock.now() - Date.now()) < 1000);
});

test('clock: realClock drives xstate delayed transitions', async (t) => {
  const machine = createMachine({
    id: 'clock-probe',
    initial: 'waiting',
    states: { waiting: { after: { 15: 'done' } }, done: { type: 'final' } },
  });
  const actor = createActor(machine, { clock: realClock });
  const done = new Promise<void>((resolve) => actor.subscribe({ complete: () => resolve() }));
  actor.start();
  t.is(actor.getSnapshot().value, 'waiting');
  await done;
  t.is(actor.getSnapshot().value, 'done');
});

function collector(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

test('logger: every line carries the node id, fields, message and child bindings; levels filter', (t) => {
  const out = collector();
  const log = createLogger({ nodeId: 3, level: 'info', destination: out.stream });
  log.debug({ hidden: true }, 'not shown at info');
  log.info({ topic: 'orders' }, 'topic created');
  const raft = log.child({ actor: 'raft' });
  raft.warn({ term: 4 }, 'election timeout');
  raft.child({ peer: 2 }).error({ err: new Error('boom') }, 'vote lost');
  const lines = out.lines();
  t.is(lines.length, 3);
  t.like(lines[0], { node: 3, topic: 'orders', msg: 'topic created', level: 30 });
  t.like(lines[1], { node: 3, actor: 'raft', term: 4, msg: 'election timeout', level: 40 });
  t.like(lines[2], { node: 3, actor: 'raft', peer: 2, msg: 'vote lost', level: 50 });
  t.like(lines[2]?.['err'], { message: 'boom', type: 'Error' });
});

test('runtime: createRealRuntime roots the disk at the data dir and exposes the attachable network', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'raftline-runtime-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const runtime = createRealRuntime({ nodeId: 1, dataDir, logLevel: 'silent' });
  await runtime.disk.writeFileAtomic('meta.properties', new TextEncoder().encode('node.id=1\n'));
  t.is(await readFile(join(dataDir, 'meta.properties'), 'utf8'), 'node.id=1\n');
  t.is(runtime.clock, realClock);
  t.is(typeof runtime.network.attach, 'function');
  t.is(runtime.random.bytes(8).byteLength, 8);
});
