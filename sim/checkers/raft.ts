// Raft's safety properties as simulator checkers, fed by a monitor that the quorum system (or a spec) tells what every
// node appends, truncates, commits, votes and persists. Invariants checked: at most one leader per epoch; a leader
// only appends in its epoch; log matching; leader completeness; state-machine safety; epoch and vote survive
// restarts (one vote per epoch, ever); acknowledged proposals are never lost; a leader within 5 s of healing.
// Each check is O(entries it is told about) or O(nodes) per step; leader completeness is O(committed) per election.
import type { RaftEntry } from '../../src/wire/raft.js';
import type { QuorumState } from '../../src/raft/ports.js';
import type { RaftRole } from '../../src/raft/setup.js';
import type { Checker, Fail } from '../system.js';
import type { Simulation } from '../simulation.js';

export const raftCheckerNames = [
  'raft.one-leader-per-epoch',
  'raft.leader-append-only',
  'raft.log-matching',
  'raft.leader-completeness',
  'raft.state-machine-safety',
  'raft.durable-vote',
  'raft.acked-committed',
  'raft.node-error',
  'raft.leader-after-heal',
] as const;
export type RaftCheckerName = (typeof raftCheckerNames)[number];

/** What a checker needs to see of one node at a step. */
export interface RaftNodeView {
  nodeId: number;
  incarnation: number;
  role: RaftRole;
  epoch: number;
  leaderId: number | null;
  highWatermark: number;
  voter: boolean;
  logStart(): number;
  entryAt(offset: number): RaftEntry | undefined;
  endOffset(): number;
  /** Truncations this incarnation's log has made so far. */
  truncations: number;
}

/** A stable, comparable name of an entry's record. */
export function recordKey(entry: RaftEntry): string {
  const r = entry.record;
  if (r.type === 'leader-change') return `L${r.leaderId}:${r.voters.join(',')}`;
  let s = 'D';
  for (const b of r.data) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}

interface Seen {
  key: string;
  prevEpoch: number | null;
  node: number;
}

/** Collects observations and the violations they reveal; the checkers report them by name. */
export class RaftSafetyMonitor {
  private readonly pending = new Map<RaftCheckerName, string>();
  private readonly leaderOfEpoch = new Map<number, number>();
  private readonly byOffsetEpoch = new Map<string, Seen>();
  /** offset -> the entry every node that applied it applied. */
  private readonly applied = new Map<number, { epoch: number; key: string; node: number }>();
  private readonly votes = new Map<string, number>();
  private readonly durable = new Map<number, QuorumState>();
  private readonly lastStep = new Map<number, { incarnation: number; role: RaftRole; epoch: number; endOffset: number; truncations: number }>();
  private readonly completenessChecked = new Set<string>();
  /** offset -> key of each acknowledged proposal (acknowledged = committed at the leader that accepted it). */
  readonly acked = new Map<number, string>();
  leaderSeenAfterHealAtMs: number | null = null;

  /** The first violation found for a checker (later ones for the same checker add nothing). */
  violation(name: RaftCheckerName, message: string): void {
    if (!this.pending.has(name)) this.pending.set(name, message);
  }

  take(name: RaftCheckerName): string | undefined {
    const m = this.pending.get(name);
    this.pending.delete(name);
    return m;
  }

  /** Log matching (Raft §5.3): an (offset, epoch) names one record, and always the same predecessor epoch. */
  onAppend(nodeId: number, entries: readonly RaftEntry[], prevEpoch: number | null): void {
    let prev = prevEpoch;
    for (const e of entries) {
      const key = recordKey(e);
      const id = `${e.offset}/${e.epoch}`;
      const seen = this.byOffsetEpoch.get(id);
      if (seen === undefined) this.byOffsetEpoch.set(id, { key, prevEpoch: prev, node: nodeId });
      else if (seen.key !== key) this.violation('raft.log-matching', `offset ${e.offset} epoch ${e.epoch}: node ${nodeId} holds ${key.slice(0, 24)}, node ${seen.node} held ${seen.key.slice(0, 24)}`);
      else if (seen.prevEpoch !== null && prev !== null && seen.prevEpoch !== prev) {
        this.violation('raft.log-matching', `offset ${e.offset} epoch ${e.epoch}: node ${nodeId} has epoch ${prev} before it, node ${seen.node} had ${seen.prevEpoch}`);
      }
      prev = e.epoch;
    }
  }

  /** State-machine safety, and acknowledged proposals never replaced; then completeness of the leaders of now. */
  onCommit(nodeId: number, entries: readonly RaftEntry[], leaders: readonly RaftNodeView[] = []): void {
    for (const e of entries) {
      const key = recordKey(e);
      const ack = this.acked.get(e.offset);
      if (ack !== undefined && ack !== key) this.violation('raft.acked-committed', `acknowledged proposal at offset ${e.offset} lost: node ${nodeId} committed ${key.slice(0, 24)} there (Raft must not lose it under any fault)`);
      const was = this.applied.get(e.offset);
      if (was === undefined) this.applied.set(e.offset, { epoch: e.epoch, key, node: nodeId });
      else if (was.key !== key || was.epoch !== e.epoch) {
        this.violation('raft.state-machine-safety', `offset ${e.offset}: node ${nodeId} applied ${key.slice(0, 24)}@${e.epoch}, node ${was.node} applied ${was.key.slice(0, 24)}@${was.epoch}`);
      }
      for (const l of leaders) if (l.epoch > e.epoch) this.checkHolds(l, e.offset, e.epoch, key);
    }
  }

  /** A granted (non-pre-)vote: one candidate per voter and epoch, across every incarnation. */
  onVoteGranted(nodeId: number, epoch: number, candidate: number): void {
    const id = `${nodeId}/${epoch}`;
    const was = this.votes.get(id);
    if (was === undefined) this.votes.set(id, candidate);
    else if (was !== candidate) this.violation('raft.durable-vote', `node ${nodeId} voted for ${was} and then for ${candidate} in epoch ${epoch}`);
  }

  /** A quorum-state write resolved: it must survive any crash from now on. */
  onQuorumStateDurable(nodeId: number, state: QuorumState): void {
    const was = this.durable.get(nodeId);
    if (was === undefined || state.epoch > was.epoch || (state.epoch === was.epoch && was.votedFor === null)) this.durable.set(nodeId, { ...state });
  }

  /** A restarted node read its quorum state back. */
  onQuorumStateRead(nodeId: number, state: QuorumState): void {
    const was = this.durable.get(nodeId);
    if (was === undefined) return;
    if (state.epoch < was.epoch) this.violation('raft.durable-vote', `node ${nodeId} restarted in epoch ${state.epoch}, but epoch ${was.epoch} had been persisted`);
    else if (state.epoch === was.epoch && was.votedFor !== null && state.votedFor !== was.votedFor) {
      this.violation('raft.durable-vote', `node ${nodeId} restarted in epoch ${state.epoch} with vote ${String(state.votedFor)}, but its vote for ${was.votedFor} had been persisted`);
    }
  }

  /** Per-step checks over every live node. */
  onStep(nodes: readonly RaftNodeView[]): void {
    for (const n of nodes) {
      const prev = this.lastStep.get(n.nodeId);
      const endOffset = n.endOffset();
      if (n.role === 'leader') {
        const known = this.leaderOfEpoch.get(n.epoch);
        if (known === undefined) this.leaderOfEpoch.set(n.epoch, n.nodeId);
        else if (known !== n.nodeId) this.violation('raft.one-leader-per-epoch', `nodes ${known} and ${n.nodeId} both led epoch ${n.epoch}`);
        if (prev !== undefined && prev.incarnation === n.incarnation && prev.role === 'leader' && prev.epoch === n.epoch) {
          if (endOffset < prev.endOffset || n.truncations !== prev.truncations) {
            this.violation('raft.leader-append-only', `leader ${n.nodeId} of epoch ${n.epoch} truncated its log (end ${prev.endOffset} -> ${endOffset})`);
          }
        }
        const id = `${n.nodeId}/${n.incarnation}/${n.epoch}`;
        if (!this.completenessChecked.has(id)) {
          this.completenessChecked.add(id);
          for (const [offset, a] of this.applied) if (a.epoch < n.epoch) this.checkHolds(n, offset, a.epoch, a.key);
        }
      }
      this.lastStep.set(n.nodeId, { incarnation: n.incarnation, role: n.role, epoch: n.epoch, endOffset, truncations: n.truncations });
    }
  }

  /** Leader completeness (Raft §5.4): a leader of a later epoch holds every committed entry (or a snapshot of it). */
  private checkHolds(leader: RaftNodeView, offset: number, epoch: number, key: string): void {
    if (offset < leader.logStart()) return;
    const e = leader.entryAt(offset);
    if (e === undefined || e.epoch !== epoch || recordKey(e) !== key) {
      this.violation('raft.leader-completeness', `leader ${leader.nodeId} of epoch ${leader.epoch} lacks committed entry ${offset}@${epoch} (holds ${e === undefined ? 'nothing' : `${e.epoch}`})`);
    }
  }
}

export interface RaftCheckerSource {
  monitor: RaftSafetyMonitor;
  /** Live nodes, as of now. */
  views(): RaftNodeView[];
  /** The single leader every live voter follows, if there is one. */
  agreedLeader(): number | null;
}

/** Virtual ms after healing within which a leader known by every node must exist. */
export const raftLeaderAfterHealMs = 5_000;

export function raftCheckers(sim: Simulation, source: RaftCheckerSource): Checker[] {
  const { monitor } = source;
  const report = (name: RaftCheckerName): Checker => ({
    name,
    onStep(_sim, fail: Fail) {
      const m = monitor.take(name);
      if (m !== undefined) fail(m);
    },
  });
  const safety: Checker = {
    // Runs first: turns this step's node states into observations for the named checkers after it.
    name: 'raft.observe',
    onStep() {
      monitor.onStep(source.views());
    },
  };
  const leaderAfterHeal: Checker = {
    name: 'raft.leader-after-heal',
    onStep(s, fail) {
      if (s.phase !== 'liveness' || monitor.leaderSeenAfterHealAtMs !== null) return;
      const healedAt = s.schedule.phases.safetyMs;
      if (source.agreedLeader() !== null) monitor.leaderSeenAfterHealAtMs = s.nowMs() - healedAt;
      else if (s.nowMs() > healedAt + raftLeaderAfterHealMs) fail(`no leader known by every node ${raftLeaderAfterHealMs} ms after healing`);
    },
  };
  void sim;
  return [safety, ...raftCheckerNames.filter((n) => n !== 'raft.leader-after-heal').map(report), leaderAfterHeal];
}
