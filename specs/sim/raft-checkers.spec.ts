// Every Raft checker fires on the broken history it exists to catch (and stays quiet on a healthy one), fed by hand
// with the observations the quorum system makes: no checker here is one that cannot fail.
import test from 'ava';
import type { RaftRole } from '../../src/raft/setup.js';
import type { RaftEntry } from '../../src/wire/raft.js';
import { raftCheckers, RaftSafetyMonitor, type RaftCheckerName, type RaftNodeView } from '../../sim/checkers/raft.js';
import type { Simulation } from '../../sim/simulation.js';

const data = (offset: number, epoch: number, byte: number): RaftEntry => ({ offset, epoch, record: { type: 'data', data: Uint8Array.of(byte) } });

function view(nodeId: number, role: RaftRole, epoch: number, entries: RaftEntry[], extra: Partial<RaftNodeView> = {}): RaftNodeView {
  return {
    nodeId,
    incarnation: 0,
    role,
    epoch,
    leaderId: role === 'leader' ? nodeId : null,
    highWatermark: 0,
    voter: true,
    logStart: () => 0,
    entryAt: (o) => entries[o],
    endOffset: () => entries.length,
    truncations: 0,
    ...extra,
  };
}

function fired(m: RaftSafetyMonitor, name: RaftCheckerName): string | undefined {
  return m.take(name);
}

test('raft checkers: two leaders in one epoch fire raft.one-leader-per-epoch; successive epochs do not', (t) => {
  const m = new RaftSafetyMonitor();
  m.onStep([view(1, 'leader', 1, []), view(2, 'follower', 1, [])]);
  m.onStep([view(2, 'leader', 2, [])]);
  t.is(fired(m, 'raft.one-leader-per-epoch'), undefined);
  m.onStep([view(3, 'leader', 2, [])]);
  t.regex(fired(m, 'raft.one-leader-per-epoch') ?? '', /both led epoch 2/);
});

test('raft checkers: a leader that truncates in its epoch fires raft.leader-append-only', (t) => {
  const m = new RaftSafetyMonitor();
  const log = [data(0, 1, 1), data(1, 1, 2)];
  m.onStep([view(1, 'leader', 1, log)]);
  m.onStep([view(1, 'leader', 1, [...log, data(2, 1, 3)])]);
  t.is(fired(m, 'raft.leader-append-only'), undefined);
  m.onStep([view(1, 'leader', 1, log.slice(0, 1), { truncations: 1 })]);
  t.regex(fired(m, 'raft.leader-append-only') ?? '', /truncated/);
});

test('raft checkers: different records, or different predecessors, at one (offset, epoch) fire raft.log-matching', (t) => {
  const m = new RaftSafetyMonitor();
  m.onAppend(1, [data(0, 1, 1), data(1, 1, 2)], 0);
  m.onAppend(2, [data(0, 1, 1), data(1, 1, 2)], 0);
  t.is(fired(m, 'raft.log-matching'), undefined);
  m.onAppend(3, [data(1, 1, 9)], 1);
  t.regex(fired(m, 'raft.log-matching') ?? '', /offset 1 epoch 1/);
  m.onAppend(3, [data(2, 2, 5)], 1);
  m.onAppend(2, [data(2, 2, 5)], 2);
  t.regex(fired(m, 'raft.log-matching') ?? '', /epoch 2 before it/);
});

test('raft checkers: a new leader missing a committed entry fires raft.leader-completeness', (t) => {
  const m = new RaftSafetyMonitor();
  m.onCommit(1, [data(0, 1, 1)]);
  m.onStep([view(2, 'leader', 2, [data(0, 1, 1)])]);
  t.is(fired(m, 'raft.leader-completeness'), undefined);
  m.onStep([view(3, 'leader', 3, [data(0, 2, 7)])]);
  t.regex(fired(m, 'raft.leader-completeness') ?? '', /lacks committed entry 0@1/);
  // An entry committed while a later leader already leads must be in that leader's log too.
  m.onCommit(1, [data(1, 1, 2)], [view(2, 'leader', 2, [data(0, 1, 1)])]);
  t.regex(fired(m, 'raft.leader-completeness') ?? '', /lacks committed entry 1@1/);
});

test('raft checkers: two nodes applying different records at one offset fire raft.state-machine-safety', (t) => {
  const m = new RaftSafetyMonitor();
  m.onCommit(1, [data(0, 1, 1)]);
  m.onCommit(2, [data(0, 1, 1)]);
  t.is(fired(m, 'raft.state-machine-safety'), undefined);
  m.onCommit(3, [data(0, 2, 4)]);
  t.regex(fired(m, 'raft.state-machine-safety') ?? '', /offset 0/);
});

test('raft checkers: a second vote in one epoch, or a persisted epoch or vote lost at restart, fire raft.durable-vote', (t) => {
  const m = new RaftSafetyMonitor();
  m.onVoteGranted(1, 5, 2);
  m.onVoteGranted(1, 5, 2);
  m.onVoteGranted(1, 6, 3);
  t.is(fired(m, 'raft.durable-vote'), undefined);
  m.onVoteGranted(1, 6, 2);
  t.regex(fired(m, 'raft.durable-vote') ?? '', /voted for 3 and then for 2 in epoch 6/);
  m.onQuorumStateDurable(2, { epoch: 4, votedFor: 3, leaderId: null });
  m.onQuorumStateRead(2, { epoch: 4, votedFor: 3, leaderId: null });
  m.onQuorumStateRead(2, { epoch: 5, votedFor: null, leaderId: null });
  t.is(fired(m, 'raft.durable-vote'), undefined);
  m.onQuorumStateRead(2, { epoch: 3, votedFor: 3, leaderId: null });
  t.regex(fired(m, 'raft.durable-vote') ?? '', /restarted in epoch 3/);
  m.onQuorumStateRead(2, { epoch: 4, votedFor: null, leaderId: null });
  t.regex(fired(m, 'raft.durable-vote') ?? '', /vote for 3 had been persisted/);
});

test('raft checkers: a different record committed where an acknowledged proposal was fires raft.acked-committed', (t) => {
  const m = new RaftSafetyMonitor();
  m.onCommit(1, [data(0, 1, 1)]);
  m.acked.set(0, 'D01');
  m.onCommit(2, [data(0, 1, 1)]);
  t.is(fired(m, 'raft.acked-committed'), undefined);
  m.onCommit(3, [data(0, 2, 2)]);
  t.regex(fired(m, 'raft.acked-committed') ?? '', /acknowledged proposal at offset 0 lost/);
});

test('raft checkers: no agreed leader 5 s after healing fires raft.leader-after-heal; one within 5 s passes', (t) => {
  const run = (leaderAtMs: number | null): string[] => {
    const m = new RaftSafetyMonitor();
    let now = 10_000;
    const sim = { phase: 'liveness', schedule: { phases: { safetyMs: 10_000 } }, nowMs: () => now } as unknown as Simulation;
    const checker = raftCheckers(sim, { monitor: m, views: () => [], agreedLeader: () => (leaderAtMs !== null && now >= leaderAtMs ? 1 : null) }).find((c) => c.name === 'raft.leader-after-heal')!;
    const failures: string[] = [];
    for (; now <= 16_000; now += 100) checker.onStep!(sim, (msg) => failures.push(msg));
    return failures;
  };
  t.deepEqual(run(14_000), []);
  t.regex(run(null)[0] ?? '', /no leader known by every node 5000 ms after healing/);
  t.regex(run(15_500)[0] ?? '', /5000 ms/);
});

test('raft checkers: the named checkers report what the monitor found, one violation per checker', (t) => {
  const m = new RaftSafetyMonitor();
  const sim = { phase: 'safety' } as unknown as Simulation;
  const checkers = raftCheckers(sim, { monitor: m, views: () => [], agreedLeader: () => null });
  m.violation('raft.node-error', 'node 1: invariant broken');
  const failures: string[] = [];
  for (const c of checkers) c.onStep?.(sim, (msg) => failures.push(`${c.name}: ${msg}`));
  t.deepEqual(failures, ['raft.node-error: node 1: invariant broken']);
});
