// Partition leader election and ISR/ELR bookkeeping (KIP-966). Keeps: a leader comes from the ISR, else from the
// eligible leader replicas (ELR), else — only when unclean.leader.election.enable is on — from any live replica, and
// then the result says unclean; the ISR and ELR never overlap; with ELR on, a replica leaving the ISR joins the ELR
// while the ISR is below min.insync.replicas (the high watermark cannot have advanced past it), and the ELR is emptied
// once the ISR reaches min.insync.replicas; with ELR off, the ISR never becomes empty (its last member stays).
import { invariant, isDisjoint, isSubset } from './invariant.js';

/** The leadership state of a partition that elections read and write. */
export interface LeaderAndIsr {
  readonly replicas: readonly number[];
  readonly leader: number;
  readonly isr: readonly number[];
  readonly elr: readonly number[];
  readonly lastKnownElr: readonly number[];
}

export interface ElectionPolicy {
  /** True when the broker may lead and join the ISR: registered, unfenced, not in controlled shutdown. */
  readonly isActive: (brokerId: number) => boolean;
  /** The eligible.leader.replicas.version feature is on. */
  readonly elrEnabled: boolean;
  /** The topic's effective min.insync.replicas. */
  readonly minIsr: number;
  /** The topic's effective unclean.leader.election.enable. */
  readonly uncleanEnabled: boolean;
}

export type ElectionResult =
  | { readonly kind: 'elected'; readonly state: LeaderAndIsr; readonly unclean: boolean }
  | { readonly kind: 'offline' };

function inReplicaOrder(replicas: readonly number[], members: Iterable<number>): number[] {
  const s = new Set(members);
  return replicas.filter((r) => s.has(r));
}

/**
 * Applies the KIP-966 ELR rules to a target ISR: members leaving the ISR join the ELR when the new ISR is below
 * min.insync.replicas (ELR on); members joining the ISR leave the ELR; an ISR at min.insync.replicas or above
 * empties the ELR and the last known ELR.
 */
export function withIsr(p: LeaderAndIsr, targetIsr: readonly number[], policy: Pick<ElectionPolicy, 'elrEnabled' | 'minIsr'>): LeaderAndIsr {
  const isr = inReplicaOrder(p.replicas, targetIsr);
  invariant(isr.length === targetIsr.length, () => `target ISR ${JSON.stringify(targetIsr)} is not a set of replicas ${JSON.stringify(p.replicas)}`);
  const leaving = p.isr.filter((r) => !isr.includes(r));
  let elr = p.elr.filter((r) => !isr.includes(r));
  let lastKnownElr = p.lastKnownElr.filter((r) => !isr.includes(r));
  if (isr.length >= policy.minIsr) {
    elr = [];
    lastKnownElr = [];
  } else if (policy.elrEnabled) {
    elr = inReplicaOrder(p.replicas, [...elr, ...leaving]);
    lastKnownElr = lastKnownElr.filter((r) => !elr.includes(r));
  }
  return { replicas: p.replicas, leader: p.leader, isr, elr, lastKnownElr };
}

/**
 * Chooses a leader: the first active ISR member in replica order; else the first active ELR member, which becomes
 * the ISR's newest member; else, when unclean election is on, the first active replica preferring the last known
 * ELR, with the ISR reset to the new leader alone. Otherwise the partition is offline.
 */
export function electLeader(p: LeaderAndIsr, policy: ElectionPolicy): ElectionResult {
  const fromIsr = p.replicas.find((r) => p.isr.includes(r) && policy.isActive(r));
  if (fromIsr !== undefined) return { kind: 'elected', state: { ...p, leader: fromIsr }, unclean: false };
  const fromElr = p.replicas.find((r) => p.elr.includes(r) && policy.isActive(r));
  if (fromElr !== undefined) {
    const next = withIsr(p, [...p.isr, fromElr], policy);
    return { kind: 'elected', state: { ...next, leader: fromElr }, unclean: false };
  }
  if (policy.uncleanEnabled) {
    const candidates = [...inReplicaOrder(p.replicas, p.lastKnownElr), ...p.replicas.filter((r) => !p.lastKnownElr.includes(r))];
    const leader = candidates.find((r) => policy.isActive(r));
    if (leader !== undefined) {
      return { kind: 'elected', state: { replicas: p.replicas, leader, isr: [leader], elr: [], lastKnownElr: [] }, unclean: true };
    }
  }
  return { kind: 'offline' };
}

export interface LeadershipChange {
  readonly state: LeaderAndIsr;
  /** The leader was chosen from outside the ISR and ELR. */
  readonly unclean: boolean;
}

/**
 * The partition after `brokerId` stops being able to serve (its session timed out, or it is in controlled shutdown):
 * it leaves the ISR (to the ELR per withIsr; with ELR off, never emptying the ISR), and if it led, a new leader is
 * elected or the partition goes offline. `policy.isActive(brokerId)` must already be false.
 */
export function removeFromIsr(p: LeaderAndIsr, brokerId: number, policy: ElectionPolicy): LeadershipChange {
  invariant(!policy.isActive(brokerId), `removeFromIsr of broker ${brokerId}, which is still active`);
  let next: LeaderAndIsr = p;
  if (p.isr.includes(brokerId)) {
    const target = p.isr.filter((r) => r !== brokerId);
    if (target.length > 0 || policy.elrEnabled) next = withIsr(p, target, policy);
  }
  if (p.leader !== brokerId) return { state: next, unclean: false };
  return electOrOffline(next, policy);
}

/** Elects a leader (electLeader) or, failing that, marks the partition offline (leader -1). */
export function electOrOffline(p: LeaderAndIsr, policy: ElectionPolicy): LeadershipChange {
  const elected = electLeader(p, policy);
  if (elected.kind === 'elected') return { state: elected.state, unclean: elected.unclean };
  return { state: { ...p, leader: -1 }, unclean: false };
}

/**
 * After an unclean shutdown (the broker lost unflushed records), the broker is no longer known to hold every
 * committed record: it leaves the ELR and is remembered in the last known ELR (KIP-966).
 */
export function dropFromElr(p: LeaderAndIsr, brokerId: number): LeaderAndIsr {
  if (!p.elr.includes(brokerId)) return p;
  return {
    ...p,
    elr: p.elr.filter((r) => r !== brokerId),
    lastKnownElr: inReplicaOrder(p.replicas, [...p.lastKnownElr, brokerId]),
  };
}

export type PreferredElection =
  | { readonly kind: 'elected'; readonly state: LeaderAndIsr }
  | { readonly kind: 'not-needed' }
  | { readonly kind: 'unavailable'; readonly reason: string };

/** Preferred leader election: the first assigned replica leads if it is active and in the ISR. */
export function electPreferred(p: LeaderAndIsr, isActive: (brokerId: number) => boolean): PreferredElection {
  const preferred = p.replicas[0];
  invariant(preferred !== undefined, 'a partition without replicas');
  if (p.leader === preferred) return { kind: 'not-needed' };
  if (!isActive(preferred)) return { kind: 'unavailable', reason: `preferred leader ${preferred} is not alive` };
  if (!p.isr.includes(preferred)) return { kind: 'unavailable', reason: `preferred leader ${preferred} is not in the ISR ${JSON.stringify(p.isr)}` };
  return { kind: 'elected', state: { ...p, leader: preferred } };
}

/** Asserts the election invariants on a state an election produced. */
export function checkLeaderAndIsr(p: LeaderAndIsr): void {
  invariant(isSubset(p.isr, p.replicas) && isSubset(p.elr, p.replicas), 'ISR and ELR are replicas');
  invariant(isDisjoint(p.isr, p.elr), 'ISR and ELR are disjoint');
  invariant(p.leader === -1 || p.isr.includes(p.leader), 'the leader is in the ISR');
}
