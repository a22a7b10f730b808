// How a host (the broker's composition root or the simulator) runs one Raft node: it builds the config, creates
// the actor on the runtime's clock, feeds inbound messages as events, and turns proposals into promises. It holds no
// Raft state of its own; the machine decides everything.
import { createActor, type Actor } from 'xstate';
import type { Clock, Logger, Random } from '../runtime/index.js';
import { silentLogger } from '../runtime/index.js';
import {
  raftAppendLingerMsDefault,
  raftAppendLingerMsMax,
  raftBeginQuorumEpochRetryMsDefault,
  raftElectionBackoffMaxMsDefault,
  raftElectionTimeoutMsDefault,
  raftFetchIdleMsDefault,
  raftFetchMaxWaitMsDefault,
  raftFetchMaxWaitMsMax,
  raftFetchTimeoutMsDefault,
  raftObserverDiscoveryMsDefault,
  raftFetchRetryMsDefault,
  raftRetryBackoffMsDefault,
  raftVotersMax,
} from '../limits.js';
import type { RaftMessage, SnapshotId } from '../wire/raft.js';
import { raftMachine, type RaftMachine } from './machine.js';
import type { NodeId, ProposeResult, QuorumStateStore, RaftConfig, RaftListener, RaftLog } from './ports.js';
import { invariant } from './quorum.js';
import type { RaftRole } from './setup.js';

/** Kafka's defaults (controller.quorum.*), overridable per key. */
export function raftConfig(nodeId: NodeId, voters: readonly NodeId[], overrides: Partial<RaftConfig> = {}): RaftConfig {
  const config: RaftConfig = {
    nodeId,
    voters: [...voters],
    electionTimeoutMs: raftElectionTimeoutMsDefault,
    fetchTimeoutMs: raftFetchTimeoutMsDefault,
    electionBackoffMaxMs: raftElectionBackoffMaxMsDefault,
    retryBackoffMs: raftRetryBackoffMsDefault,
    fetchIdleMs: raftFetchIdleMsDefault,
    beginQuorumEpochRetryMs: raftBeginQuorumEpochRetryMsDefault,
    observerDiscoveryMs: raftObserverDiscoveryMsDefault,
    fetchRetryMs: raftFetchRetryMsDefault,
    appendLingerMs: raftAppendLingerMsDefault,
    ...overrides,
    // Kafka holds a fetch 500 ms against a 2000 ms fetch timeout; a shorter fetch timeout scales the wait down with it.
    fetchMaxWaitMs: overrides.fetchMaxWaitMs ?? Math.min(raftFetchMaxWaitMsDefault, Math.floor((overrides.fetchTimeoutMs ?? raftFetchTimeoutMsDefault) / 4)),
  };
  invariant(config.voters.length > 0 && config.voters.length <= raftVotersMax, 'voter count out of range');
  invariant(new Set(config.voters).size === config.voters.length, 'duplicate voter ids');
  for (const key of ['electionTimeoutMs', 'fetchTimeoutMs', 'electionBackoffMaxMs', 'retryBackoffMs', 'fetchIdleMs', 'beginQuorumEpochRetryMs', 'observerDiscoveryMs', 'fetchRetryMs'] as const) {
    invariant(Number.isInteger(config[key]) && config[key] > 0, () => `raft config ${key} must be a positive integer, got ${config[key]}`);
  }
  invariant(
    Number.isInteger(config.fetchMaxWaitMs) && config.fetchMaxWaitMs >= 0 && config.fetchMaxWaitMs <= raftFetchMaxWaitMsMax && config.fetchMaxWaitMs < config.fetchTimeoutMs,
    () => `raft config fetchMaxWaitMs must be an integer in [0, ${Math.min(raftFetchMaxWaitMsMax, config.fetchTimeoutMs - 1)}], got ${config.fetchMaxWaitMs}`,
  );
  invariant(
    Number.isInteger(config.appendLingerMs) && config.appendLingerMs >= 0 && config.appendLingerMs <= raftAppendLingerMsMax,
    () => `raft config appendLingerMs must be an integer in [0, ${raftAppendLingerMsMax}], got ${config.appendLingerMs}`,
  );
  return config;
}

export interface RaftNodeOptions {
  config: RaftConfig;
  clock: Clock;
  random: Random;
  log: RaftLog;
  store: QuorumStateStore;
  logger?: Logger;
  /** Outbound messages; the host delivers them (best effort) and feeds replies back through `deliver`. */
  send(to: NodeId, message: RaftMessage): void;
  listener?: Partial<RaftListener>;
}

export interface RaftStatus {
  nodeId: NodeId;
  role: RaftRole;
  epoch: number;
  votedFor: NodeId | null;
  leaderId: NodeId | null;
  highWatermark: number;
  endOffset: number;
  lastEpoch: number;
}

export interface RaftNode {
  readonly actor: Actor<RaftMachine>;
  /** Starts the machine: it reads its quorum state, then joins the quorum. */
  start(): void;
  /** Stops it at once (a crash, as far as Raft is concerned; durable state is whatever the ports kept). */
  stop(): void;
  /** Feeds one validated inbound message. */
  deliver(message: RaftMessage): void;
  /** The host's transport saw its connection to `nodeId` reset or fail (not a silence): a hint for fast failover. */
  peerUnreachable(nodeId: NodeId): void;
  /** Appends records if this node leads; resolves with their offsets, or with the reason it did not. */
  propose(records: Uint8Array[]): Promise<ProposeResult>;
  /** Graceful shutdown: a leader resigns with EndQuorumEpoch before the host stops it. */
  resign(): void;
  /**
   * Compaction hook (KIP-630): the state machine hands over its state as of `endOffset` (at most what was delivered
   * to it through onCommit); the log keeps it as a snapshot and drops the entries it covers.
   */
  createSnapshot(endOffset: number, bytes: Uint8Array): Promise<SnapshotId>;
  status(): RaftStatus;
}

export function createRaftNode(options: RaftNodeOptions): RaftNode {
  const waiting = new Map<number, (result: ProposeResult) => void>();
  let nextRequestId = 1;
  const listener: RaftListener = {
    onCommit: options.listener?.onCommit ?? (() => {}),
    onLeaderChange: options.listener?.onLeaderChange ?? (() => {}),
    onLoadSnapshot: options.listener?.onLoadSnapshot ?? (() => {}),
  };
  const logger = (options.logger ?? silentLogger).child({ actor: `raft-${options.config.nodeId}` });
  const actor = createActor(raftMachine, {
    id: `raft-${options.config.nodeId}`,
    clock: options.clock,
    input: {
      config: options.config,
      ports: {
        clock: options.clock,
        random: options.random,
        log: options.log,
        store: options.store,
        logger,
        send: options.send,
        listener,
        proposed: (requestId, result) => {
          const resolve = waiting.get(requestId);
          waiting.delete(requestId);
          resolve?.(result);
        },
      },
    },
  });
  return {
    actor,
    start: () => {
      actor.start();
    },
    stop: () => {
      actor.stop();
      for (const resolve of waiting.values()) {
        resolve({ ok: false, code: 'NOT_LEADER_OR_FOLLOWER', leaderId: null, epoch: actor.getSnapshot().context.quorum.epoch });
      }
      waiting.clear();
    },
    deliver: (message) => actor.send(message),
    peerUnreachable: (nodeId) => actor.send({ type: 'raft.peer.unreachable', nodeId }),
    propose: (records) =>
      new Promise((resolve) => {
        const requestId = nextRequestId++;
        waiting.set(requestId, resolve);
        actor.send({ type: 'raft.propose', requestId, records });
      }),
    resign: () => actor.send({ type: 'raft.shutdown' }),
    createSnapshot: async (endOffset, bytes) => {
      const { appliedOffset } = actor.getSnapshot().context;
      invariant(endOffset <= appliedOffset, () => `snapshot at ${endOffset} covers entries not yet delivered (${appliedOffset})`);
      const last = options.log.entryAt(endOffset - 1);
      invariant(last !== undefined, () => `no entry before ${endOffset} to end a snapshot at`);
      const id = { endOffset, epoch: last.epoch };
      await options.log.createSnapshot(id, bytes);
      return id;
    },
    status: () => {
      const { context } = actor.getSnapshot();
      return {
        nodeId: context.config.nodeId,
        role: context.role,
        epoch: context.quorum.epoch,
        votedFor: context.quorum.votedFor,
        leaderId: context.role === 'leader' ? context.config.nodeId : context.quorum.leaderId,
        highWatermark: context.highWatermark,
        endOffset: options.log.endOffset(),
        lastEpoch: options.log.lastEpoch(),
      };
    },
  };
}
