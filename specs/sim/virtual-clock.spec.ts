import test from 'ava';
import { createActor, setup } from 'xstate';
import { VirtualClock, type TimerOwner } from '../../sim/runtime/virtual-clock.js';
import { createSeededRandom } from '../../src/runtime/seeded-random.js';

const owner = (nodeId: string): TimerOwner => ({ nodeId, incarnation: 0, pausedUntilMs: 0, skewMs: 0 });

function drain(clock: VirtualClock, limitMs = Number.MAX_SAFE_INTEGER): void {
  for (let t = clock.takeNext(limitMs); t !== undefined; t = clock.takeNext(limitMs)) t.fn();
}

test('clock: timers fire in (deadline, insertion sequence) order, equal deadlines in the order they were set', (t) => {
  const clock = new VirtualClock();
  const o = owner('n1');
  const fired: string[] = [];
  for (const [name, delay] of [['c', 30], ['a1', 10], ['b', 20], ['a2', 10], ['a3', 10], ['z', 0]] as const) {
    clock.schedule(o, delay, () => fired.push(`${name}@${clock.nowMs()}`));
  }
  drain(clock);
  t.deepEqual(fired, ['z@0', 'a1@10', 'a2@10', 'a3@10', 'b@20', 'c@30']);
});

test('clock: a timer set while firing at the same deadline runs after those already due', (t) => {
  const clock = new VirtualClock();
  const o = owner('n1');
  const fired: string[] = [];
  clock.schedule(o, 5, () => {
    fired.push('first');
    clock.schedule(o, 0, () => fired.push('nested'));
  });
  clock.schedule(o, 5, () => fired.push('second'));
  drain(clock);
  t.deepEqual(fired, ['first', 'second', 'nested']);
});

test('clock: cancelled timers never fire, and clearing a fired timer is harmless', (t) => {
  const clock = new VirtualClock();
  const view = clock.viewFor(owner('n1'));
  const fired: number[] = [];
  const h1 = view.setTimeout(() => fired.push(1), 10);
  view.setTimeout(() => fired.push(2), 20);
  view.clearTimeout(h1);
  drain(clock);
  view.clearTimeout(h1);
  t.deepEqual(fired, [2]);
  t.is(clock.pending(), 0);
});

test('clock: thousands of cancellations keep the queue bounded by live timers', (t) => {
  const clock = new VirtualClock();
  const view = clock.viewFor(owner('n1'));
  for (let i = 0; i < 5000; i++) view.clearTimeout(view.setTimeout(() => {}, 1000 + i));
  t.is(clock.pending(), 0);
  t.is(clock.peekDeadlineMs(), undefined);
});

test('clock: a crashed incarnation\'s timers are discarded; a paused owner\'s timers wait for the pause to end, in order', (t) => {
  const clock = new VirtualClock();
  const a = owner('n1');
  const b = owner('n2');
  const fired: string[] = [];
  clock.schedule(a, 10, () => fired.push(`a@${clock.nowMs()}`));
  clock.schedule(b, 10, () => fired.push(`b1@${clock.nowMs()}`));
  clock.schedule(b, 20, () => fired.push(`b2@${clock.nowMs()}`));
  clock.schedule(null, 30, () => fired.push(`sim@${clock.nowMs()}`));
  a.incarnation++;
  b.pausedUntilMs = 100;
  drain(clock);
  t.deepEqual(fired, ['sim@30', 'b1@100', 'b2@100']);
});

test('clock: now() is the fixed epoch plus virtual time plus the owner\'s skew; monotonic ignores skew', (t) => {
  const clock = new VirtualClock();
  const o = owner('n1');
  const view = clock.viewFor(o);
  const start = view.now();
  clock.schedule(o, 1234, () => {});
  drain(clock);
  o.skewMs = -500;
  t.is(view.now() - start, 1234 - 500);
  t.is(view.monotonicMs(), 1234);
});

test('clock: drives xstate `after` delays as xstate\'s clock, on virtual time', (t) => {
  const clock = new VirtualClock();
  const machine = setup({}).createMachine({
    initial: 'a',
    states: { a: { after: { 300: 'b' } }, b: { after: { 700: 'c' } }, c: { type: 'final' } },
  });
  const actor = createActor(machine, { clock: clock.viewFor(owner('n1')) });
  const seen: string[] = [];
  actor.subscribe((s) => seen.push(`${String(s.value)}@${clock.nowMs()}`));
  actor.start();
  drain(clock);
  t.deepEqual(seen, ['a@0', 'b@300', 'c@1000']);
});

test('prng: the same seed gives the same stream, split streams are independent of parent use', (t) => {
  const a = createSeededRandom(42);
  const b = createSeededRandom(42);
  const xs = Array.from({ length: 50 }, () => a.next());
  t.deepEqual(xs, Array.from({ length: 50 }, () => b.next()));
  t.notDeepEqual(xs, Array.from({ length: 50 }, () => createSeededRandom(43).next()));
  const fresh = createSeededRandom(42).split('node/1');
  const used = createSeededRandom(42);
  for (let i = 0; i < 100; i++) used.next();
  t.is(used.split('node/1').next(), fresh.next());
  t.not(createSeededRandom(42).split('node/1').next(), createSeededRandom(42).split('node/2').next());
  t.is(createSeededRandom('abc').int(1000), createSeededRandom('abc').int(1000));
  t.is(createSeededRandom(7n).next(), createSeededRandom(7).next());
});

test('prng: values stay in range and cover it', (t) => {
  const r = createSeededRandom(1);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const x = r.range(-3, 4);
    t.true(x >= -3 && x < 4);
    seen.add(x);
    const f = r.next();
    t.true(f >= 0 && f < 1);
  }
  t.is(seen.size, 7);
  t.is(r.bytes(7).length, 7);
  t.throws(() => r.int(0), { instanceOf: RangeError });
});
