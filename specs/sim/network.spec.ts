import test from 'ava';
import type { Connection, CloseReason } from '../../src/runtime/network.js';
import { ConnectionClosedError } from '../../src/runtime/errors.js';
import { createPrng } from '../../sim/runtime/prng.js';
import { SimNetwork, type LinkModel, type NetProcess } from '../../sim/runtime/sim-network.js';
import { VirtualClock } from '../../sim/runtime/virtual-clock.js';
import { Trace } from '../../sim/trace.js';
import { networkIntegrityChecker } from '../../sim/checkers.js';

/** Two hosts, a server on b:9000 that records frames, and a client connection from a. */
function harness(link: Partial<LinkModel> = {}, seed = 1) {
  const clock = new VirtualClock();
  const lines: string[] = [];
  const trace = new Trace(() => clock.nowMs(), (l) => lines.push(l));
  const net = new SimNetwork({ clock, random: createPrng(seed), trace, link: { latencyMinMs: 5, latencyMaxMs: 5, ...link }, livenessTimeoutMs: 1_000, connectTimeoutMs: 500 });
  const proc = (host: string): NetProcess => ({ host, owner: { nodeId: host, incarnation: 0, pausedUntilMs: 0, skewMs: 0 } });
  const a = proc('a');
  const b = proc('b');
  const atServer: number[] = [];
  const atClient: number[] = [];
  const closes: Array<{ side: string; reason: CloseReason; t: number }> = [];
  let server: Connection | undefined;
  void net.viewFor(b).listen({ host: 'b', port: 9000 }, (c) => {
    server = c;
    c.setHandlers({
      onFrame: (f) => atServer.push(f[0]!),
      onClose: (reason) => closes.push({ side: 'server', reason, t: clock.nowMs() }),
    });
  });
  let opened = false;
  const client = net.viewFor(a).connect('b:9000', {
    onOpen: () => (opened = true),
    onFrame: (f) => atClient.push(f[0]!),
    onClose: (reason) => closes.push({ side: 'client', reason, t: clock.nowMs() }),
  });
  const run = (untilMs = Number.MAX_SAFE_INTEGER): void => {
    for (let t = clock.takeNext(untilMs); t !== undefined; t = clock.takeNext(untilMs)) t.fn();
  };
  run(100);
  return { clock, net, a, b, client, server: () => server, atServer, atClient, closes, lines, run, opened: () => opened };
}

const frame = (n: number): Uint8Array => Uint8Array.of(n);

test('network: frames arrive after the link latency, in order on each direction', (t) => {
  const h = harness();
  t.true(h.opened());
  h.net.setDefaults({ latencyMinMs: 1, latencyMaxMs: 40 });
  const sentAt = h.clock.nowMs();
  for (let i = 0; i < 20; i++) t.true(h.client.send(frame(i)));
  h.run();
  t.deepEqual(h.atServer, Array.from({ length: 20 }, (_, i) => i));
  t.true(h.clock.nowMs() >= sentAt + 1);
});

test('network: loss drops frames (a fully lossy link delivers nothing, and says so in the trace)', (t) => {
  const h = harness();
  h.net.setDefaults({ loss: 1 });
  for (let i = 0; i < 5; i++) h.client.send(frame(i));
  h.run();
  t.deepEqual(h.atServer, []);
  t.is(h.lines.filter((l) => l.includes('"ev":"net.drop"') && l.includes('"why":"loss"')).length, 5);
});

test('network: duplication delivers a frame twice', (t) => {
  const h = harness();
  h.net.setDefaults({ duplicate: 1 });
  h.client.send(frame(7));
  h.run();
  t.deepEqual(h.atServer, [7, 7]);
});

test('network: reordering lets later frames overtake earlier ones', (t) => {
  const h = harness();
  h.net.setDefaults({ latencyMinMs: 1, latencyMaxMs: 200, reorder: 1 });
  for (let i = 0; i < 30; i++) h.client.send(frame(i));
  h.run();
  t.is(h.atServer.length, 30);
  t.deepEqual([...h.atServer].sort((x, y) => x - y), Array.from({ length: 30 }, (_, i) => i));
  t.notDeepEqual(h.atServer, Array.from({ length: 30 }, (_, i) => i));
});

test('network: a two-way partition drops both directions and kills the connection by liveness timeout', (t) => {
  const h = harness();
  h.net.partition(['a'], ['b']);
  h.client.send(frame(1));
  h.server()!.send(frame(2));
  h.run();
  t.deepEqual(h.atServer, []);
  t.deepEqual(h.atClient, []);
  t.deepEqual(h.closes.map((c) => [c.side, c.reason.by, c.reason.detail]).sort(), [['client', 'error', 'liveness timeout'], ['server', 'error', 'liveness timeout']]);
  t.false(h.client.isOpen);
  t.false(h.client.send(frame(3)));
});

test('network: a one-way partition drops only the cut direction; healing in time keeps the connection', (t) => {
  const h = harness();
  h.net.partition(['a'], ['b'], true);
  h.client.send(frame(1));
  h.server()!.send(frame(2));
  h.run(h.clock.nowMs() + 100);
  t.deepEqual(h.atServer, []);
  t.deepEqual(h.atClient, [2]);
  h.net.heal();
  h.client.send(frame(3));
  h.run();
  t.deepEqual(h.atServer, [3]);
  t.deepEqual(h.closes, []);
});

test('network: a clogged link holds everything until the clog ends, then delivers in order', (t) => {
  const h = harness();
  const start = h.clock.nowMs();
  h.net.clog('a', 'b', start + 500);
  h.client.send(frame(1));
  h.client.send(frame(2));
  h.run(start + 499);
  t.deepEqual(h.atServer, []);
  h.run();
  t.deepEqual(h.atServer, [1, 2]);
  t.true(h.clock.nowMs() >= start + 500);
});

test('network: connecting to an address nobody listens on ends in onClose (refused)', (t) => {
  const h = harness();
  const reasons: CloseReason[] = [];
  let opened = false;
  h.net.viewFor(h.a).connect('b:9999', { onOpen: () => (opened = true), onClose: (r) => reasons.push(r) });
  h.run();
  t.false(opened);
  t.deepEqual(reasons, [{ by: 'error', detail: 'connection refused' }]);
});

test('network: a crashed process\'s connections close at the peer after a delay, and its listener is gone', (t) => {
  const h = harness();
  const crashAt = h.clock.nowMs();
  h.b.owner.incarnation++;
  h.net.hostCrashed('b');
  h.run();
  t.deepEqual(h.closes.map((c) => [c.side, c.reason.detail]), [['client', 'peer crashed']]);
  t.true(h.closes[0]!.t > crashAt);
  const reasons: CloseReason[] = [];
  h.net.viewFor(h.a).connect('b:9000', { onClose: (r) => reasons.push(r) });
  h.run();
  t.is(reasons[0]?.detail, 'connection refused');
});

test('network: a local close fires onClose once on each side, and nothing is delivered after it', (t) => {
  const h = harness();
  h.client.send(frame(1));
  h.client.close('bye');
  h.client.close('again');
  h.server()!.send(frame(9));
  h.run();
  t.deepEqual(h.atServer, [1]);
  t.deepEqual(h.atClient, []);
  t.deepEqual(h.closes.map((c) => [c.side, c.reason.by]), [['client', 'local'], ['server', 'remote']]);
});

test('network: a paused connection holds inbound frames until resumed', (t) => {
  const h = harness();
  h.server()!.pause();
  h.client.send(frame(1));
  h.run(h.clock.nowMs() + 50);
  t.deepEqual(h.atServer, []);
  h.server()!.resume();
  h.run();
  t.deepEqual(h.atServer, [1]);
});

test('network: listening twice on one address is AddressInUseError; unknown hosts cannot be listened on', async (t) => {
  const h = harness();
  await t.throwsAsync(h.net.viewFor(h.b).listen({ host: 'b', port: 9000 }, () => {}), { code: 'EADDRINUSE' } as never);
  t.throws(() => h.net.viewFor(h.b).listen({ host: 'elsewhere', port: 1 }, () => {}), { instanceOf: TypeError });
  t.true(new ConnectionClosedError('x') instanceof Error);
});

test('network: the same seed gives the same trace, another seed a different one', (t) => {
  const traceOf = (seed: number): string => {
    const h = harness({}, seed);
    h.net.setDefaults({ latencyMinMs: 1, latencyMaxMs: 50, loss: 0.2, duplicate: 0.2, reorder: 0.3 });
    for (let i = 0; i < 50; i++) h.client.send(frame(i));
    h.run();
    return h.lines.join('\n');
  };
  t.is(traceOf(3), traceOf(3));
  t.not(traceOf(3), traceOf(4));
});

test('network: frames on the wire to a process that crashes are traced as dropped, so every frame is accounted for', (t) => {
  const h = harness();
  h.client.send(frame(1));
  h.client.send(frame(2));
  h.b.owner.incarnation++;
  h.net.hostCrashed('b');
  h.run();
  t.deepEqual(h.atServer, []);
  t.is(h.lines.filter((l) => l.includes('"ev":"net.drop"') && l.includes('"why":"crashed"')).length, 2);
});

test('checker: network integrity accepts sent-then-delivered frames and flags a delivery that was never sent', (t) => {
  const checker = networkIntegrityChecker();
  const failures: string[] = [];
  const fail = (m: string): void => {
    failures.push(m);
  };
  const ev = (i: number, name: string, data: Record<string, unknown>) => ({ t: i, i, node: 'n1', ev: name, actor: undefined, data });
  checker.onEvent!(ev(0, 'net.send', { conn: 'c1', side: 'client', seq: 0 }), fail);
  checker.onEvent!(ev(1, 'net.deliver', { conn: 'c1', side: 'server', seq: 0 }), fail);
  t.deepEqual(failures, []);
  checker.onEvent!(ev(2, 'net.deliver', { conn: 'c1', side: 'server', seq: 0 }), fail);
  checker.onEvent!(ev(3, 'net.deliver', { conn: 'c9', side: 'client', seq: 4 }), fail);
  t.is(failures.length, 2);
  t.regex(failures[1]!, /c9\/server\/4 delivered but never sent/);
});
