// Host glue of the quorum controller: feeds the Raft node's commits and leadership changes (through the node's
// MetadataFollower) into the controller machine, turns each write api of the `controller.*` family into a command
// for it, and answers the read apis from the committed image that every node keeps. Keeps: a write is answered only
// through the machine (after commit, or NOT_CONTROLLER); a read never sees uncommitted state.
import { createActor, type Actor } from 'xstate';
import { controllerForwardTimeoutMsDefault, controllerSessionCheckMsDefault, controllerSessionTimeoutMsDefault, nodesMax } from '../limits.js';
import type { RaftNode } from '../raft/node.js';
import type { Clock } from '../runtime/clock.js';
import { silentLogger, type Logger } from '../runtime/logger.js';
import type { Random } from '../runtime/random.js';
import type { ControllerApis, ControllerChannel, DescribeQuorumResponse, QuorumReplica } from '../wire/controller.js';
import { NotControllerError, RaftlineError } from '../wire/errors.js';
import type { HandlerTable } from '../wire/server.js';
import {
  allocateProducerIds,
  alterPartition,
  brokerHeartbeat,
  controlledShutdown,
  createPartitions,
  createTopics,
  defaultControllerSettings,
  deleteTopics,
  electLeaders,
  incrementalAlterConfigs,
  isCommandError,
  registerBroker,
  updateFeatures,
  type CommandContext,
  type CommandOutcome,
  type ControllerSettings,
} from './commands.js';
import { configResourceKey, type MetadataImage } from './image.js';
import { invariant } from './invariant.js';
import { controllerMachine, type ControllerMachine, type RaftProgress, type WriteCommand } from './machine.js';
import { encodeMetadataRecord, type MetadataFollower } from './metadata-follower.js';
import { describeCluster, describeConfigs, describeTopics } from './queries.js';

type ControllerHandlers = HandlerTable<ControllerApis>;

/** The core returns readonly structures; the encoder only reads them, so they may be handed to the wire as they are. */
type Mutable<T> = T extends readonly (infer U)[] ? Mutable<U>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T;

/** The write apis: only the active controller serves them. */
export const controllerWriteApis = [
  'controller.register-broker',
  'controller.broker-heartbeat',
  'controller.controlled-shutdown',
  'controller.create-topics',
  'controller.delete-topics',
  'controller.create-partitions',
  'controller.alter-configs',
  'controller.alter-partition',
  'controller.allocate-producer-ids',
  'controller.elect-leaders',
] as const satisfies readonly (keyof ControllerApis)[];

export interface MetadataHandlersOptions {
  nodeId: number;
  clusterId: string;
  raft: RaftNode;
  follower: MetadataFollower;
  clock: Clock;
  /** The node's static broker configs (Kafka key names), shown as the `static` source by describe-configs. */
  staticConfigs?: ReadonlyMap<string, string>;
  /**
   * Broker-only nodes: forward write requests to the active controller over this channel (KIP-590 forwarding), so
   * clients may send admin writes to any broker. Without it a non-controller answers NOT_CONTROLLER.
   */
  forward?: ControllerChannel;
  forwardTimeoutMs?: number;
}

function notControllerError(nodeId: number, follower: MetadataFollower): RaftlineError {
  const { leaderId, epoch } = follower.leadership();
  return leaderId === null
    ? new RaftlineError('NOT_CONTROLLER', `node ${nodeId} is not the active controller and knows no leader in epoch ${epoch}; retry`)
    : new NotControllerError(`node ${nodeId} is not the active controller; node ${leaderId} is (epoch ${epoch})`, leaderId);
}

/**
 * What every node (broker or controller) serves from its own committed image: describe-cluster, describe-topics,
 * describe-configs, and describe-quorum (answered by the Raft leader only, which alone knows every replica's
 * progress). The write apis answer NOT_CONTROLLER naming the leader; a controller node overrides them.
 */
export function metadataHandlers(options: MetadataHandlersOptions): ControllerHandlers {
  const { nodeId, clusterId, raft, follower, clock } = options;
  const staticConfigs = options.staticConfigs ?? new Map<string, string>();
  const rejectWrite = (): never => {
    throw notControllerError(nodeId, follower);
  };
  const handlers: ControllerHandlers = {
    'controller.describe-cluster': (body) => {
      const image = follower.image();
      return {
        clusterId,
        controllerId: follower.leadership().leaderId,
        nodeId,
        metadataOffset: image.offset,
        brokers: describeCluster(image, body.includeFenced).map((b) => ({ ...b, endpoints: b.endpoints.map((e) => ({ ...e })) })),
      };
    },
    'controller.describe-topics': (body) => {
      const image = follower.image();
      return {
        metadataOffset: image.offset,
        topics: describeTopics(image, body.topics).map((t) => ({
          name: t.name,
          topicId: t.topicId,
          error: t.error,
          configs: Object.fromEntries(image.configs.get(configResourceKey('topic', t.name)) ?? []),
          partitions: t.partitions.map((p) => ({ ...p, replicas: [...p.replicas], isr: [...p.isr], elr: [...p.elr], lastKnownElr: [...p.lastKnownElr] })),
        })),
      };
    },
    'controller.describe-configs': (body) => {
      const image = follower.image();
      return {
        resources: body.resources.map((r) => {
          const described = describeConfigs(image, r, staticConfigs);
          return { type: r.type, name: r.name, error: described.error, configs: described.configs.map((c) => ({ ...c })) };
        }),
      };
    },
    'controller.describe-quorum': () => describeQuorum(raft, clock, follower, nodeId),
  };
  const { forward } = options;
  for (const api of controllerWriteApis) {
    (handlers as Record<string, (body: unknown) => unknown>)[api] = forward === undefined
      ? rejectWrite
      : (body) => {
          const leaderId = follower.leadership().leaderId;
          if (leaderId === null || leaderId === nodeId) return rejectWrite();
          return forward(leaderId, api, body as never, options.forwardTimeoutMs ?? controllerForwardTimeoutMsDefault);
        };
  }
  return handlers;
}

/** DescribeQuorum (KIP-595) from the leader's view of every replica that fetched in its epoch. */
export function describeQuorum(raft: RaftNode, clock: Clock, follower: MetadataFollower, nodeId: number): DescribeQuorumResponse {
  const status = raft.status();
  if (status.role !== 'leader') throw notControllerError(nodeId, follower);
  const { config, replicas } = raft.actor.getSnapshot().context;
  const now = clock.now();
  const replica = (id: number): QuorumReplica => {
    if (id === status.nodeId) return { nodeId: id, logEndOffset: status.endOffset, lag: 0, lastFetchAgoMs: 0 };
    const progress = replicas[id];
    const leo = progress?.endOffset ?? -1;
    return {
      nodeId: id,
      logEndOffset: leo,
      lag: leo < 0 ? null : Math.max(0, status.endOffset - leo),
      lastFetchAgoMs: progress?.lastContactMs == null ? null : Math.max(0, now - progress.lastContactMs),
    };
  };
  const voters = [...config.voters].sort((a, b) => a - b);
  const observers = Object.keys(replicas).map(Number).filter((id) => !voters.includes(id)).sort((a, b) => a - b).slice(0, nodesMax);
  return {
    leaderId: status.nodeId,
    leaderEpoch: status.epoch,
    highWatermark: status.highWatermark,
    logEndOffset: status.endOffset,
    voters: voters.map(replica),
    observers: observers.map(replica),
  };
}

export interface QuorumControllerOptions extends MetadataHandlersOptions {
  random: Random;
  logger?: Logger;
  settings?: ControllerSettings;
  /** broker.session.timeout.ms: a broker without a heartbeat for this long is fenced. */
  sessionTimeoutMs?: number;
  /** How often the active controller looks for expired sessions. */
  sessionCheckMs?: number;
  /**
   * Feature levels this node's configuration asks for (e.g. `eligible.leader.replicas.version` = 1 from
   * `eligible.leader.replicas.enable=true`): on becoming active the controller finalizes any the image holds at a lower
   * level, as Kafka's bootstrap metadata would. Only upward: a node configured without a feature never turns it off.
   */
  features?: ReadonlyMap<string, number>;
}

export interface QuorumController {
  readonly actor: Actor<ControllerMachine>;
  /** Every api of the controller family: reads from the committed image, writes through the machine. */
  readonly handlers: ControllerHandlers;
  /** The machine's role: 'inactive' | 'activating' | 'active'. */
  role(): 'inactive' | 'activating' | 'active';
  stop(): void;
}

/**
 * Creates and starts the controller of a node that is a Raft voter. Create the MetadataFollower first, pass its
 * `listener` to createRaftNode, then call this before `raft.start()` so no commit or leadership change is missed.
 */
export function createQuorumController(options: QuorumControllerOptions): QuorumController {
  const { nodeId, clusterId, raft, follower, clock } = options;
  const logger = (options.logger ?? silentLogger).child({ actor: `controller-${nodeId}` });
  const sessionTimeoutMs = options.sessionTimeoutMs ?? controllerSessionTimeoutMsDefault;
  const sessionCheckMs = options.sessionCheckMs ?? controllerSessionCheckMsDefault;
  invariant(Number.isInteger(sessionTimeoutMs) && sessionTimeoutMs > 0, 'the session timeout is a positive integer');
  invariant(Number.isInteger(sessionCheckMs) && sessionCheckMs > 0 && sessionCheckMs <= sessionTimeoutMs, 'the session check interval is in (0, session timeout]');

  const progress = (): RaftProgress => {
    const s = raft.status();
    // The replayed offset, not Raft's: the controller may only count what its image already holds as committed.
    return { isLeader: s.role === 'leader', epoch: s.epoch, highWatermark: Math.min(s.highWatermark, follower.appliedOffset()), endOffset: s.endOffset, lastEpoch: s.lastEpoch };
  };

  const actor = createActor(controllerMachine, {
    id: `controller-${nodeId}`,
    clock,
    input: {
      committed: follower.image(),
      raft: progress(),
      ports: {
        nodeId,
        clock,
        random: options.random,
        logger,
        settings: options.settings ?? defaultControllerSettings,
        sessionTimeoutMs,
        sessionCheckMs,
        propose: (records) => raft.propose(records.map(encodeMetadataRecord)),
        progress,
      },
    },
  });

  // Raft calls its listener from inside its own transition, when its snapshot (status()) is not yet updated; the
  // machine hears about it one microtask later, with the status Raft settled on, in the order things happened.
  let stopped = false;
  const unsubscribe = follower.subscribe((event) => {
    void Promise.resolve().then(() => {
      if (stopped) return;
      const raftNow = progress();
      if (event.type === 'committed') {
        actor.send({ type: 'raft.committed', image: follower.image(), highWatermark: follower.appliedOffset(), raft: raftNow });
      } else {
        actor.send({ type: 'raft.leadership', epoch: event.leadership.epoch, leaderId: event.leadership.leaderId, image: follower.image(), raft: raftNow });
      }
    });
  });
  actor.start();

  /** Sends one write to the machine; resolves with its response once committed, rejects with its error. */
  function write<R>(name: string, run: (image: MetadataImage, ctx: CommandContext) => CommandOutcome<R>, session?: WriteCommand['session']): Promise<Mutable<R>> {
    return new Promise<Mutable<R>>((resolve, reject) => {
      const command: WriteCommand = {
        name,
        run,
        reply: (outcome) => ({
          deliver: () => (isCommandError(outcome) ? reject(outcome) : resolve(outcome.response as Mutable<R>)),
          fail: (error) => reject(error),
        }),
        ...(session === undefined ? {} : { session }),
      };
      actor.send({ type: 'controller.write', command });
    });
  }

  /** The offset a response computed on `image` with `records` written at ctx.nextOffset is current as of. */
  const offsetAfter = (image: MetadataImage, ctx: CommandContext, records: number): number => (records === 0 ? image.offset : ctx.nextOffset + records - 1);

  const writeHandlers: ControllerHandlers = {
    'controller.register-broker': (body) => {
      if (body.clusterId !== clusterId) {
        throw new RaftlineError('INCONSISTENT_CLUSTER_ID', `broker ${body.brokerId} belongs to cluster ${JSON.stringify(body.clusterId)}, this is ${JSON.stringify(clusterId)}`);
      }
      const { clusterId: _ignored, ...request } = body;
      return write('register-broker', (image, ctx) => registerBroker(image, request, ctx), { brokerId: body.brokerId, metadataOffset: -1, fresh: true });
    },
    'controller.broker-heartbeat': (body) =>
      write('broker-heartbeat', (image, ctx) => {
        const out = brokerHeartbeat(image, body, ctx);
        return isCommandError(out) ? out : { records: out.records, response: { ...out.response, metadataOffset: offsetAfter(image, ctx, out.records.length) } };
      }, { brokerId: body.brokerId, metadataOffset: body.currentMetadataOffset, fresh: false }),
    'controller.controlled-shutdown': (body) =>
      write('controlled-shutdown', (image, ctx) => {
        const out = controlledShutdown(image, body, ctx);
        return isCommandError(out) ? out : { records: out.records, response: { ...out.response, metadataOffset: offsetAfter(image, ctx, out.records.length) } };
      }, { brokerId: body.brokerId, metadataOffset: body.currentMetadataOffset, fresh: false }),
    'controller.create-topics': (body) => write('create-topics', (image, ctx) => createTopics(image, body, ctx)),
    'controller.delete-topics': (body) => write('delete-topics', (image, ctx) => deleteTopics(image, body, ctx)),
    'controller.create-partitions': (body) => write('create-partitions', (image, ctx) => createPartitions(image, body, ctx)),
    'controller.alter-configs': (body) => write('alter-configs', (image, ctx) => incrementalAlterConfigs(image, body, ctx)),
    'controller.alter-partition': (body) => write('alter-partition', (image, ctx) => alterPartition(image, body, ctx)),
    'controller.allocate-producer-ids': (body) => write('allocate-producer-ids', (image, ctx) => allocateProducerIds(image, body, ctx)),
    'controller.elect-leaders': (body) => write('elect-leaders', (image, ctx) => electLeaders(image, body, ctx)),
  };

  // Bootstrap features: each activation checks the committed image once, and raises what the configuration asks for.
  // The write re-checks the uncommitted image, so a level another controller raised meanwhile is left alone.
  let wasActive = false;
  const wanted = [...(options.features ?? new Map<string, number>())];
  const featureWatch = actor.subscribe((snapshot) => {
    const active = typeof snapshot.value === 'object' && 'active' in snapshot.value;
    if (active && !wasActive) {
      for (const [name, level] of wanted) {
        if ((follower.image().features.get(name) ?? 0) >= level) continue;
        // After the transition that activated the machine, not inside it.
        void Promise.resolve().then(() =>
          write('update-features', (image, ctx) =>
            (image.features.get(name) ?? 0) >= level ? { records: [], response: { level: image.features.get(name) ?? 0 } } : updateFeatures(image, { name, level }, ctx),
          ).then(
            (r) => logger.info({ feature: name, level: r.level }, 'controller: feature finalized from the configuration'),
            (err: unknown) => logger.warn({ feature: name, err: err instanceof Error ? err.message : String(err) }, 'controller: could not finalize a configured feature; next activation retries'),
          ),
        );
      }
    }
    wasActive = active;
  });

  const handlers: ControllerHandlers = { ...metadataHandlers(options), ...writeHandlers };
  return {
    actor,
    handlers,
    role: () => {
      const value = actor.getSnapshot().value;
      const role = typeof value === 'string' ? value : Object.keys(value)[0];
      invariant(role === 'inactive' || role === 'activating' || role === 'active', () => `unknown controller state ${JSON.stringify(value)}`);
      return role;
    },
    stop: () => {
      stopped = true;
      unsubscribe();
      featureWatch.unsubscribe();
      // Whoever still waits for an uncommitted write learns that this controller is gone, and retries elsewhere.
      const waiting = actor.getSnapshot().context.images.pending.map((b) => b.token);
      actor.stop();
      const error = new RaftlineError('NOT_CONTROLLER', `controller ${nodeId} stopped before the request committed; retry with the new controller`);
      for (const reply of waiting) reply.fail(error);
    },
  };
}
