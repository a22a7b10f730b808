// One partition replica on this broker: its log, its role (decided by the `partition-replica` chart from the
// metadata image), and, as leader, the followers' progress, the high watermark, the ISR changes it proposes and the
// acks=all requests waiting for replication. Keeps: every log mutation (leader append, follower append, truncation)
// runs through one queue, so the idempotence check and the append it guards are atomic; the high watermark never
// exceeds the log end offset and, on a leader, never moves backwards; a produce is acknowledged at acks=all only
// once the high watermark has passed its last offset.
import { createActor, type Actor } from 'xstate';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { PartitionLog } from '../storage/partition-log.js';
import { batchesIn, readBatchHeader, type BatchHeader } from '../storage/record-batch.js';
import { RaftlineError, type ErrorCode } from '../wire/errors.js';
import { computeHighWatermark, invariant, laggingMembers, mayJoinIsr, newFollowerProgress, recordFollowerFetch, type FollowerProgress } from './isr.js';
import { partitionReplicaMachine, type PartitionAssignment } from './machine.js';
import { isIdempotent, ProducerStateTable } from './producer-state.js';
import { createTailCacheBudget, TailCache, type TailCacheBudget } from './tail-cache.js';

export type ReplicaRole = 'unassigned' | 'offline' | 'follower' | 'leader' | 'stopped';

/** An ISR change the leader asks the controller for (AlterPartition, KIP-497). */
export interface IsrProposal {
  readonly topicId: string;
  readonly partitionId: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly newIsr: readonly number[];
}

/** The controller's answer: the partition's state after the change. */
export interface IsrAnswer {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly isr: readonly number[];
}

export interface ReplicaHost {
  readonly brokerId: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** replica.lag.time.max.ms */
  readonly lagTimeMaxMs: number;
  /** Sends AlterPartition to the active controller. */
  alterPartition(proposal: IsrProposal): Promise<IsrAnswer>;
  /** Whether a broker may join an ISR now (registered, unfenced, not shutting down), as the image says. */
  isBrokerActive(brokerId: number): boolean;
  /** The role or leader changed: the manager moves the replica between fetchers. */
  roleChanged(replica: PartitionReplica): void;
  /** The broker-wide bound of the leaders' tail caches (tail-cache.ts); without it each replica has its own. */
  readonly tailCacheBudget?: TailCacheBudget;
}

export interface AppendOutcome {
  baseOffset: number;
  lastOffset: number;
  /** The batch was a retry of one already written; nothing new was appended. */
  duplicate: boolean;
}

interface ProduceWaiter {
  readonly requiredOffset: number;
  readonly resolve: (error: RaftlineError | null) => void;
  readonly timer: TimerHandle;
}

function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

export class PartitionReplica {
  readonly key: string;
  private readonly actor: Actor<typeof partitionReplicaMachine>;
  private readonly log: Logger;
  private role: ReplicaRole = 'unassigned';
  private assignment: PartitionAssignment = { leaderId: -1, leaderEpoch: -1, partitionEpoch: -1, replicas: [], isr: [] };
  private hw: number;
  /** Leader only: the followers' progress in this leader epoch. */
  private followers = new Map<number, FollowerProgress>();
  /** Leader only: the log end offset when this leadership began (a follower must reach it to join the ISR). */
  private epochStartOffset = 0;
  /** Leader only: the ISR of the AlterPartition in flight, or null. */
  private pendingIsr: readonly number[] | null = null;
  private alterInFlight = false;
  private alterRetryAtMs = 0;
  readonly producers = new ProducerStateTable();
  private queue: Promise<unknown> = Promise.resolve();
  private produceWaiters: ProduceWaiter[] = [];
  /** Wakes long-polling fetches: called when the log end or the high watermark moves, or the role changes. */
  private readonly listeners = new Set<() => void>();
  /** Listeners that only care about the log itself (follower fetches): a high-watermark move alone does not call them. */
  private readonly logListeners = new Set<() => void>();
  /** Leader only: the latest appended batches, so fetches at the tail need no file read (tail-cache.ts). */
  private readonly tail: TailCache;

  constructor(
    readonly topic: string,
    readonly topicId: string,
    readonly partitionId: number,
    readonly partitionLog: PartitionLog,
    private readonly host: ReplicaHost,
    /** min.insync.replicas of the topic, read when needed (it may change with the topic's config). */
    private readonly minInsyncReplicas: () => number,
  ) {
    this.key = `${topic}-${partitionId}`;
    this.log = host.logger.child({ partition: this.key });
    this.hw = partitionLog.logStartOffset;
    this.tail = new TailCache(host.tailCacheBudget ?? createTailCacheBudget());
    this.actor = createActor(partitionReplicaMachine, {
      id: `replica-${host.brokerId}-${this.key}`,
      clock: host.clock,
      input: {
        brokerId: host.brokerId,
        ports: {
          becomeLeader: (a) => this.onBecomeLeader(a),
          becomeFollower: (a) => this.onBecomeFollower(a),
          becomeOffline: (a) => this.onBecomeOffline(a),
          partitionChanged: (a) => this.onPartitionChanged(a),
          stop: () => this.onStop(),
        },
      },
    });
    this.actor.start();
  }

  // ---------------------------------------------------------------------------------------------- state

  get currentRole(): ReplicaRole {
    return this.role;
  }
  get leaderId(): number {
    return this.assignment.leaderId;
  }
  get leaderEpoch(): number {
    return this.assignment.leaderEpoch;
  }
  get partitionEpoch(): number {
    return this.assignment.partitionEpoch;
  }
  get isr(): readonly number[] {
    return this.assignment.isr;
  }
  get replicas(): readonly number[] {
    return this.assignment.replicas;
  }
  /** Leader only: the log end offset when this leadership began. */
  get leaderEpochStartOffset(): number {
    return this.epochStartOffset;
  }
  get highWatermark(): number {
    return this.hw;
  }
  get logEndOffset(): number {
    return this.partitionLog.logEndOffset;
  }
  get logStartOffset(): number {
    return this.partitionLog.logStartOffset;
  }
  /** The ISR the high watermark waits for: the committed one plus any member an in-flight AlterPartition adds. */
  get maximalIsr(): readonly number[] {
    if (this.pendingIsr === null) return this.assignment.isr;
    return [...new Set([...this.assignment.isr, ...this.pendingIsr])];
  }
  followerProgress(brokerId: number): FollowerProgress | undefined {
    return this.followers.get(brokerId);
  }
  /** acks=all requests waiting for replication. */
  get waitingProduces(): number {
    return this.produceWaiters.length;
  }

  /** Feeds a partition state from the image (or an AlterPartition answer) to the role chart. */
  assign(assignment: PartitionAssignment): void {
    this.actor.send({ type: 'replica.assignment', assignment });
  }

  /** Stops the replica (partition moved away or deleted, or the broker stops); waiters are answered. */
  stop(): void {
    this.actor.send({ type: 'replica.stop' });
  }

  /** Runs `fn` after every log mutation queued before it; the queue carries on whatever `fn` does. */
  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Calls `fn` on the next change of this replica: its log, its role or epoch, or (unless `highWatermark` is false)
   * its high watermark. A follower's fetch reads up to the log end, so a high-watermark move alone gives it nothing to
   * read; waking it would only run its read again, on the acks=all path, between the move and the produce answers.
   */
  onChange(fn: () => void, highWatermark = true): () => void {
    const set = highWatermark ? this.listeners : this.logListeners;
    set.add(fn);
    return () => set.delete(fn);
  }

  /** Wakes the listeners; `highWatermarkOnly` says only the high watermark moved. */
  private notify(highWatermarkOnly = false): void {
    if (!highWatermarkOnly && this.logListeners.size > 0) for (const fn of [...this.logListeners]) fn();
    for (const fn of [...this.listeners]) fn();
  }

  // ---------------------------------------------------------------------------------------------- role changes

  private onBecomeLeader(a: PartitionAssignment): void {
    this.role = 'leader';
    this.assignment = a;
    this.pendingIsr = null;
    this.alterRetryAtMs = 0;
    const now = this.host.clock.monotonicMs();
    // Follower LEOs are unknown until each fetches from this leader: the high watermark waits for them (Kafka too).
    this.followers = new Map(a.replicas.filter((r) => r !== this.host.brokerId).map((r) => [r, newFollowerProgress(now)]));
    this.epochStartOffset = this.partitionLog.logEndOffset;
    this.tail.clear();
    // Producer state is kept on followers as they append, so a new leader already knows every producer in its log.
    this.log.info({ leaderEpoch: a.leaderEpoch, isr: a.isr, logEndOffset: this.logEndOffset, highWatermark: this.hw }, 'became leader');
    this.maybeAdvanceHighWatermark();
    this.host.roleChanged(this);
    this.notify();
  }

  private onBecomeFollower(a: PartitionAssignment): void {
    const wasLeader = this.role === 'leader';
    this.role = 'follower';
    this.assignment = a;
    this.leaveLeadership('NOT_LEADER_OR_FOLLOWER', `broker ${this.host.brokerId} is no longer the leader of ${this.key} (now ${a.leaderId}, epoch ${a.leaderEpoch})`);
    if (wasLeader) this.log.info({ leaderId: a.leaderId, leaderEpoch: a.leaderEpoch }, 'became follower');
    this.host.roleChanged(this);
    this.notify();
  }

  private onBecomeOffline(a: PartitionAssignment): void {
    this.role = 'offline';
    this.assignment = a;
    this.leaveLeadership('NOT_LEADER_OR_FOLLOWER', `${this.key} has no leader (epoch ${a.leaderEpoch})`);
    this.host.roleChanged(this);
    this.notify();
  }

  private onPartitionChanged(a: PartitionAssignment): void {
    this.assignment = a;
    if (this.role !== 'leader') return;
    for (const r of a.replicas) if (r !== this.host.brokerId && !this.followers.has(r)) this.followers.set(r, newFollowerProgress(this.host.clock.monotonicMs()));
    // Whatever was in flight was answered (that is how this epoch arrived) or is now stale (the controller moved on).
    this.pendingIsr = null;
    this.maybeAdvanceHighWatermark();
    this.failWaitersIfIsrTooSmall();
  }

  private onStop(): void {
    this.role = 'stopped';
    this.leaveLeadership('NOT_LEADER_OR_FOLLOWER', `${this.key} is no longer hosted by broker ${this.host.brokerId}`);
    this.host.roleChanged(this);
    this.notify();
    this.listeners.clear();
    this.logListeners.clear();
  }

  private leaveLeadership(code: ErrorCode, message: string): void {
    this.tail.clear();
    this.followers = new Map();
    this.pendingIsr = null;
    const waiters = this.produceWaiters;
    this.produceWaiters = [];
    for (const w of waiters) {
      this.host.clock.clearTimeout(w.timer);
      w.resolve(new RaftlineError(code, message));
    }
  }

  // ---------------------------------------------------------------------------------------------- leader: produce

  /**
   * Appends a producer's batches as the leader (Kafka's appendRecordsToLeader): NOT_LEADER_OR_FOLLOWER off the
   * leader; with acks=all and a committed ISR below min.insync.replicas, NOT_ENOUGH_REPLICAS and nothing is written;
   * an idempotent batch already written answers its original offsets; a sequence gap OUT_OF_ORDER_SEQUENCE_NUMBER.
   * The log validates sizes and CRCs and assigns offsets and the leader epoch.
   */
  appendAsLeader(records: Uint8Array, requiredAcks: 0 | 1 | -1): Promise<AppendOutcome> {
    const epoch = this.assignment.leaderEpoch;
    return this.serialize(async () => {
      this.requireLeader(epoch);
      if (requiredAcks === -1) {
        const minIsr = this.minInsyncReplicas();
        if (this.assignment.isr.length < minIsr) {
          throw new RaftlineError('NOT_ENOUGH_REPLICAS', `${this.key}: ISR ${JSON.stringify(this.assignment.isr)} is smaller than min.insync.replicas=${minIsr}`);
        }
      }
      const headers = this.peekHeaders(records);
      const idempotent = headers.filter(isIdempotent);
      if (idempotent.length > 0) {
        if (headers.length !== 1) {
          throw new RaftlineError('INVALID_REQUEST', `${this.key}: an idempotent produce carries exactly one batch per partition, got ${headers.length}`);
        }
        const check = this.producers.check(idempotent[0]!);
        if (check.kind === 'duplicate') {
          this.log.debug({ producerId: idempotent[0]!.producerId, baseOffset: check.baseOffset }, 'duplicate batch answered with its original offsets');
          return { baseOffset: check.baseOffset, lastOffset: check.lastOffset, duplicate: true };
        }
      }
      const result = await this.partitionLog.appendAsLeader(records, epoch);
      // The log stamped offsets into `records` in place: the headers now carry them.
      for (const { header } of batchesIn(records)) this.producers.update(header, header.baseOffset);
      if (this.role === 'leader' && this.assignment.leaderEpoch === epoch) {
        // The log took `records` as written (offsets and epoch stamped in place): the followers fetch them next.
        this.tail.add(records, this.partitionLog.logEndOffset);
        this.maybeAdvanceHighWatermark();
        this.notify();
      }
      return { baseOffset: result.baseOffset, lastOffset: result.lastOffset, duplicate: false };
    });
  }

  /**
   * Waits until the high watermark passes `lastOffset` (acks=all). Resolves null on success, or with the error to
   * answer: REQUEST_TIMED_OUT after `timeoutMs`, NOT_LEADER_OR_FOLLOWER if leadership is lost first,
   * NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR shrinks below min.insync.replicas first.
   */
  waitForReplication(lastOffset: number, timeoutMs: number): Promise<RaftlineError | null> {
    const requiredOffset = lastOffset + 1;
    if (this.hw >= requiredOffset) return Promise.resolve(null);
    if (this.role !== 'leader') return Promise.resolve(new RaftlineError('NOT_LEADER_OR_FOLLOWER', `${this.key}: leadership lost before replication`));
    return new Promise((resolve) => {
      const waiter: ProduceWaiter = {
        requiredOffset,
        resolve,
        timer: this.host.clock.setTimeout(() => {
          this.produceWaiters = this.produceWaiters.filter((w) => w !== waiter);
          resolve(new RaftlineError('REQUEST_TIMED_OUT', `${this.key}: offset ${lastOffset} not replicated to the ISR within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.produceWaiters.push(waiter);
    });
  }

  private peekHeaders(records: Uint8Array): BatchHeader[] {
    const headers: BatchHeader[] = [];
    let position = 0;
    while (position < records.byteLength) {
      const header = readBatchHeader(records, position);
      headers.push(header);
      position += header.sizeBytes;
    }
    if (headers.length === 0) throw new RaftlineError('CORRUPT_MESSAGE', `${this.key}: a produce with no record batch`);
    return headers;
  }

  private requireLeader(epoch: number): void {
    if (this.role !== 'leader' || this.assignment.leaderEpoch !== epoch) {
      throw new RaftlineError('NOT_LEADER_OR_FOLLOWER', `broker ${this.host.brokerId} does not lead ${this.key} (leader ${this.assignment.leaderId}, epoch ${this.assignment.leaderEpoch})`);
    }
  }

  // ---------------------------------------------------------------------------------------------- leader: HW, ISR

  private maybeAdvanceHighWatermark(): void {
    if (this.role !== 'leader') return;
    const before = this.hw;
    const next = computeHighWatermark({
      leaderId: this.host.brokerId,
      leaderEndOffset: this.partitionLog.logEndOffset,
      maximalIsr: this.maximalIsr,
      isr: this.assignment.isr,
      minInsyncReplicas: this.minInsyncReplicas(),
      followers: this.followers,
      current: this.hw,
    });
    invariant(next >= before && next <= this.partitionLog.logEndOffset, () => `${this.key}: high watermark ${before} → ${next} (log end ${this.logEndOffset})`);
    if (next === before) return;
    this.hw = next;
    const done = this.produceWaiters.filter((w) => w.requiredOffset <= next);
    if (done.length > 0) {
      this.produceWaiters = this.produceWaiters.filter((w) => w.requiredOffset > next);
      for (const w of done) {
        this.host.clock.clearTimeout(w.timer);
        w.resolve(null);
      }
    }
    this.notify(true);
  }

  /** The ISR shrank below min.insync.replicas after appends: the high watermark will not pass them (KIP-966). */
  private failWaitersIfIsrTooSmall(): void {
    const minIsr = this.minInsyncReplicas();
    if (this.assignment.isr.length >= minIsr || this.produceWaiters.length === 0) return;
    const waiters = this.produceWaiters;
    this.produceWaiters = [];
    for (const w of waiters) {
      this.host.clock.clearTimeout(w.timer);
      w.resolve(new RaftlineError('NOT_ENOUGH_REPLICAS_AFTER_APPEND', `${this.key}: ISR ${JSON.stringify(this.assignment.isr)} shrank below min.insync.replicas=${minIsr} after the append`));
    }
  }

  /**
   * A follower fetched at `fetchOffset` (its log end offset) in this leader epoch: record its progress, advance the
   * high watermark, and ask for it to join the ISR once it has caught up.
   */
  recordFollowerFetch(followerId: number, fetchOffset: number): void {
    if (this.role !== 'leader') return;
    const progress = this.followers.get(followerId);
    if (progress === undefined) return;
    const now = this.host.clock.monotonicMs();
    const updated = recordFollowerFetch(progress, fetchOffset, this.partitionLog.logEndOffset, now);
    this.followers.set(followerId, updated);
    this.maybeAdvanceHighWatermark();
    if (!this.maximalIsr.includes(followerId) && mayJoinIsr(updated, this.hw, this.epochStartOffset) && this.host.isBrokerActive(followerId)) {
      this.proposeIsr([...this.assignment.isr, followerId], `follower ${followerId} caught up to ${fetchOffset}`);
    }
  }

  /** Periodic: ISR members that have not caught up within replica.lag.time.max.ms are dropped (one change at a time). */
  checkIsr(): void {
    if (this.role !== 'leader') return;
    const now = this.host.clock.monotonicMs();
    const lagging = laggingMembers(this.host.brokerId, this.assignment.isr, this.followers, now, this.host.lagTimeMaxMs);
    if (lagging.length === 0) return;
    this.proposeIsr(
      this.assignment.isr.filter((r) => !lagging.includes(r)),
      `followers ${JSON.stringify(lagging)} not caught up for ${this.host.lagTimeMaxMs} ms`,
    );
  }

  private proposeIsr(newIsr: number[], why: string): void {
    const now = this.host.clock.monotonicMs();
    if (this.alterInFlight || now < this.alterRetryAtMs || sameMembers(newIsr, this.assignment.isr)) return;
    invariant(newIsr.includes(this.host.brokerId), () => `${this.key}: proposed ISR ${JSON.stringify(newIsr)} leaves out the leader`);
    const proposal: IsrProposal = {
      topicId: this.topicId,
      partitionId: this.partitionId,
      leaderEpoch: this.assignment.leaderEpoch,
      partitionEpoch: this.assignment.partitionEpoch,
      newIsr,
    };
    this.pendingIsr = newIsr;
    this.alterInFlight = true;
    this.log.info({ isr: this.assignment.isr, newIsr, partitionEpoch: proposal.partitionEpoch, why }, 'proposing ISR change');
    this.host.alterPartition(proposal).then(
      (answer) => {
        this.alterInFlight = false;
        if (answer.leaderEpoch !== this.assignment.leaderEpoch || answer.partitionEpoch <= this.assignment.partitionEpoch) {
          if (this.pendingIsr === newIsr) this.pendingIsr = null;
          return;
        }
        this.assign({ leaderId: answer.leader, leaderEpoch: answer.leaderEpoch, partitionEpoch: answer.partitionEpoch, replicas: this.assignment.replicas, isr: answer.isr });
        if (this.pendingIsr === newIsr) this.pendingIsr = null;
        this.maybeAdvanceHighWatermark();
      },
      (err: unknown) => {
        this.alterInFlight = false;
        if (this.pendingIsr === newIsr) this.pendingIsr = null;
        // The image will bring the controller's view (INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH); retry after a pause.
        this.alterRetryAtMs = this.host.clock.monotonicMs() + 200;
        this.log.info({ err: err instanceof Error ? err.message : String(err), newIsr }, 'AlterPartition failed');
      },
    );
  }

  // ---------------------------------------------------------------------------------------------- follower

  /** Appends batches fetched from the leader in `leaderEpoch`, then takes the leader's high watermark. */
  appendAsFollower(records: Uint8Array, leaderHighWatermark: number, leaderEpoch: number): Promise<void> {
    return this.serialize(async () => {
      if (this.role !== 'follower' || this.assignment.leaderEpoch !== leaderEpoch) return;
      if (records.byteLength > 0) {
        const result = await this.partitionLog.appendAsFollower(records);
        invariant(result.logEndOffset === this.logEndOffset, 'follower append moved the log end');
        for (const { header } of batchesIn(records)) this.producers.update(header, header.baseOffset);
      }
      this.followHighWatermark(leaderHighWatermark);
    });
  }

  /** A follower's high watermark is the leader's, capped at its own log end. */
  followHighWatermark(leaderHighWatermark: number): void {
    if (this.role !== 'follower') return;
    const next = Math.min(leaderHighWatermark, this.partitionLog.logEndOffset);
    if (next !== this.hw) {
      this.hw = Math.max(next, this.partitionLog.logStartOffset);
      this.notify(true);
    }
  }

  /**
   * KIP-320 truncation: the leader said our log diverges at `epoch`, whose end on the leader is `endOffset`. Cut to the
   * smaller of that and our own end of the same epoch, then rebuild the producer state from what is left.
   */
  truncateOnDivergence(epoch: number, endOffset: number, leaderEpoch: number): Promise<number> {
    return this.serialize(async () => {
      if (this.role !== 'follower' || this.assignment.leaderEpoch !== leaderEpoch) return this.logEndOffset;
      // Kafka's getOffsetTruncationState: with the same epoch, the smaller end; when we lack that epoch, our end of
      // the epoch before it (the next fetch then compares that one); knowing no epoch at all, the leader's end.
      const ours = this.partitionLog.endOffsetForEpoch(epoch);
      const target = ours.epoch === epoch ? Math.min(endOffset, ours.endOffset) : ours.epoch >= 0 ? ours.endOffset : Math.min(endOffset, this.logEndOffset);
      const before = this.logEndOffset;
      const after = await this.partitionLog.truncateTo(Math.max(target, 0));
      this.log.info({ divergingEpoch: epoch, leaderEndOffset: endOffset, from: before, to: after }, 'truncated diverging log');
      if (this.hw > after) this.hw = Math.max(after, this.partitionLog.logStartOffset);
      await this.rebuildProducerStateLocked();
      return after;
    });
  }

  /** OFFSET_OUT_OF_RANGE from the leader: start over at its log start, or cut back to its high watermark. */
  resetAfterOutOfRange(leaderLogStartOffset: number, leaderHighWatermark: number, leaderEpoch: number): Promise<void> {
    return this.serialize(async () => {
      if (this.role !== 'follower' || this.assignment.leaderEpoch !== leaderEpoch) return;
      if (leaderLogStartOffset > this.logEndOffset) {
        await this.partitionLog.truncateFullyAndStartAt(leaderLogStartOffset);
        this.hw = leaderLogStartOffset;
      } else if (this.logEndOffset > leaderHighWatermark && leaderHighWatermark >= 0) {
        await this.partitionLog.truncateTo(leaderHighWatermark);
        this.hw = Math.min(this.hw, this.logEndOffset);
      }
      await this.rebuildProducerStateLocked();
    });
  }

  /** Rebuilds the idempotent-producer table from the batch headers of the whole log (on open and after truncation). */
  rebuildProducerState(): Promise<void> {
    return this.serialize(() => this.rebuildProducerStateLocked());
  }

  private async rebuildProducerStateLocked(): Promise<void> {
    this.producers.clear();
    let offset = this.partitionLog.logStartOffset;
    while (offset < this.partitionLog.logEndOffset) {
      const read = await this.partitionLog.read({ fromOffset: offset, maxBytes: 1024 * 1024 });
      if (read.batches === 0) break;
      for (const { header } of batchesIn(read.bytes)) this.producers.update(header, header.baseOffset);
      offset = read.nextOffset;
    }
  }

  // ---------------------------------------------------------------------------------------------- reads

  /**
   * Checks a fetcher's view of the leader epoch (KIP-320): older than ours → FENCED_LEADER_EPOCH, newer →
   * UNKNOWN_LEADER_EPOCH (our image is behind); -1 skips the check.
   */
  checkLeaderEpoch(currentLeaderEpoch: number): void {
    if (currentLeaderEpoch < 0) return;
    if (currentLeaderEpoch < this.assignment.leaderEpoch) {
      throw new RaftlineError('FENCED_LEADER_EPOCH', `${this.key}: epoch ${currentLeaderEpoch} is older than the current ${this.assignment.leaderEpoch}`);
    }
    if (currentLeaderEpoch > this.assignment.leaderEpoch) {
      throw new RaftlineError('UNKNOWN_LEADER_EPOCH', `${this.key}: epoch ${currentLeaderEpoch} is newer than ${this.assignment.leaderEpoch} known here`);
    }
  }

  /** Where a fetcher's log diverges from ours, given its last fetched epoch and fetch offset; undefined if it does not. */
  divergence(lastFetchedEpoch: number, fetchOffset: number): { epoch: number; endOffset: number } | undefined {
    if (lastFetchedEpoch < 0) return undefined;
    const ours = this.partitionLog.endOffsetForEpoch(lastFetchedEpoch);
    if (ours.epoch !== lastFetchedEpoch || ours.endOffset < fetchOffset) return ours;
    return undefined;
  }

  /** Reads whole stored batches from `fromOffset`; consumers up to the high watermark, followers up to the log end. */
  read(fromOffset: number, maxBytes: number, isolation: 'high-watermark' | 'log-end', minOneBatch: boolean): Promise<Uint8Array> {
    const maxOffset = isolation === 'high-watermark' ? this.hw : this.partitionLog.logEndOffset;
    if (this.role === 'leader' && !this.partitionLog.isOffline) {
      const cached = this.tail.read(fromOffset, maxBytes, maxOffset, minOneBatch, this.partitionLog);
      if (cached !== undefined) return Promise.resolve(cached);
    }
    return this.partitionLog.read({ fromOffset, maxBytes, maxOffset, minOneBatch }).then((r) => r.bytes);
  }

  requireRole(role: 'leader'): void {
    if (this.role !== role) {
      throw new RaftlineError('NOT_LEADER_OR_FOLLOWER', `broker ${this.host.brokerId} does not lead ${this.key} (leader ${this.assignment.leaderId}, epoch ${this.assignment.leaderEpoch})`);
    }
  }

  /** Waits for queued log mutations, then closes the log. */
  async close(): Promise<void> {
    this.stop();
    await this.queue.catch(() => undefined);
    await this.partitionLog.close();
  }
}
