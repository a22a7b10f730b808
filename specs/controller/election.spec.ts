// Specs for leader election and the KIP-966 ISR/ELR rules, on partition states alone.
import test from 'ava';
import fc from 'fast-check';
import { checkLeaderAndIsr, dropFromElr, electLeader, electPreferred, removeFromIsr, withIsr, type ElectionPolicy, type LeaderAndIsr } from '../../src/controller/election.js';

function state(fields: Partial<LeaderAndIsr> = {}): LeaderAndIsr {
  return { replicas: [1, 2, 3], leader: 1, isr: [1, 2, 3], elr: [], lastKnownElr: [], ...fields };
}

function policy(active: number[], fields: Partial<ElectionPolicy> = {}): ElectionPolicy {
  return { isActive: (id) => active.includes(id), elrEnabled: false, minIsr: 1, uncleanEnabled: false, ...fields };
}

test('election: the first active ISR member in replica order leads', (t) => {
  const r = electLeader(state({ leader: -1, isr: [3, 2] }), policy([2, 3]));
  t.like(r, { kind: 'elected', unclean: false, state: { leader: 2 } });
});

test('election: with no active ISR member an active ELR member leads and joins the ISR', (t) => {
  const r = electLeader(state({ leader: -1, isr: [], elr: [2, 3] }), policy([3], { elrEnabled: true, minIsr: 2 }));
  t.like(r, { kind: 'elected', unclean: false, state: { leader: 3, isr: [3], elr: [2] } });
});

test('election: an unclean election happens only when enabled, prefers the last known ELR, and says so', (t) => {
  const p = state({ leader: -1, isr: [1], lastKnownElr: [3] });
  t.deepEqual(electLeader(p, policy([2, 3])), { kind: 'offline' });
  t.like(electLeader(p, policy([2, 3], { uncleanEnabled: true })), { kind: 'elected', unclean: true, state: { leader: 3, isr: [3], elr: [], lastKnownElr: [] } });
  t.deepEqual(electLeader(p, policy([], { uncleanEnabled: true })), { kind: 'offline' });
});

test('election: with ELR off, removing the last ISR member keeps it in the ISR and leaves the partition offline', (t) => {
  const r = removeFromIsr(state({ isr: [1] }), 1, policy([2, 3]));
  t.deepEqual(r.state, state({ isr: [1], leader: -1 }));
  t.false(r.unclean);
});

test('election: with ELR on, members leaving an ISR below min.insync.replicas join the ELR; reaching it empties the ELR', (t) => {
  const on = { elrEnabled: true, minIsr: 2 };
  const shrunk = withIsr(state(), [1], on);
  t.deepEqual([shrunk.isr, shrunk.elr], [[1], [2, 3]]);
  const stillAtMin = withIsr(state(), [1, 2], on);
  t.deepEqual([stillAtMin.isr, stillAtMin.elr], [[1, 2], []], 'an ISR at min.insync.replicas keeps no ELR');
  const regrown = withIsr(shrunk, [1, 3], on);
  t.deepEqual([regrown.isr, regrown.elr], [[1, 3], []]);
});

test('election: an unclean shutdown moves a broker from the ELR to the last known ELR', (t) => {
  t.deepEqual(dropFromElr(state({ isr: [1], elr: [2, 3] }), 3), state({ isr: [1], elr: [2], lastKnownElr: [3] }));
});

test('election: preferred election needs the first replica active and in the ISR', (t) => {
  t.deepEqual(electPreferred(state(), () => true), { kind: 'not-needed' });
  t.like(electPreferred(state({ leader: 2 }), (id) => id !== 1), { kind: 'unavailable' });
  t.like(electPreferred(state({ leader: 2, isr: [2, 3] }), () => true), { kind: 'unavailable' });
  t.like(electPreferred(state({ leader: 2 }), () => true), { kind: 'elected', state: { leader: 1 } });
});

const arbitraryState = fc
  .record({
    n: fc.integer({ min: 1, max: 5 }),
    isrMask: fc.nat(31),
    elrMask: fc.nat(31),
    activeMask: fc.nat(31),
    minIsr: fc.integer({ min: 1, max: 4 }),
    elrEnabled: fc.boolean(),
    uncleanEnabled: fc.boolean(),
    victim: fc.nat(4),
  })
  .map(({ n, isrMask, elrMask, activeMask, minIsr, elrEnabled, uncleanEnabled, victim }) => {
    const replicas = Array.from({ length: n }, (_, i) => i + 1);
    const isr = replicas.filter((_, i) => (isrMask >> i) & 1);
    const elr = elrEnabled ? replicas.filter((r, i) => (elrMask >> i) & 1 && !isr.includes(r)) : [];
    const active = replicas.filter((_, i) => (activeMask >> i) & 1);
    const leaderCandidates = isr.filter((r) => active.includes(r));
    const p: LeaderAndIsr = { replicas, isr, elr, lastKnownElr: [], leader: leaderCandidates[0] ?? -1 };
    return { p, pol: policy(active, { elrEnabled, minIsr, uncleanEnabled }), victim: replicas[victim % n]! };
  });

test('election: any election keeps the leader in the ISR, ISR and ELR disjoint, and a clean leader from the ISR or ELR', (t) => {
  fc.assert(fc.property(arbitraryState, ({ p, pol }) => {
    const r = electLeader(p, pol);
    if (r.kind === 'offline') return !p.replicas.some((x) => pol.isActive(x) && (p.isr.includes(x) || p.elr.includes(x) || pol.uncleanEnabled));
    checkLeaderAndIsr(r.state);
    return pol.isActive(r.state.leader) && (r.unclean ? pol.uncleanEnabled && !p.isr.includes(r.state.leader) && !p.elr.includes(r.state.leader) : p.isr.includes(r.state.leader) || p.elr.includes(r.state.leader));
  }));
  t.pass();
});

test('election: removing a broker never leaves it leading or (with ELR on) in the ISR, and never loses it from both ISR and ELR below min ISR', (t) => {
  fc.assert(fc.property(arbitraryState, ({ p, pol, victim }) => {
    const dead: ElectionPolicy = { ...pol, isActive: (id) => id !== victim && pol.isActive(id) };
    const { state: s, unclean } = removeFromIsr(p, victim, dead);
    checkLeaderAndIsr(s);
    if (s.leader === victim) return false;
    if (!pol.elrEnabled) return s.isr.length > 0 || p.isr.length === 0;
    if (s.isr.includes(victim)) return false;
    // A clean ISR member leaving an ISR below min.insync.replicas must stay electable through the ELR, unless an
    // unclean election replaced the partition's history (then the new leader's log is the truth and the ELR resets).
    return unclean || !p.isr.includes(victim) || s.isr.length >= pol.minIsr || s.elr.includes(victim);
  }));
  t.pass();
});
