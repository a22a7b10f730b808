// The active controller's request handlers as pure functions: (image, request, ctx) → { records, response } or a
// RaftlineError naming what was wrong. Keeps: every record a handler returns is replayed (and so invariant-checked)
// while the handler builds it, at the offset it will have in the log (ctx.nextOffset + i), so applying the records
// to the image yields exactly the state the response describes. The caller (the controller machine) appends the
// records through Raft and sends the response only once they commit (KIP-631).
import { RaftlineError, type WireError } from '../wire/errors.js';
import type { Random } from '../runtime/random.js';
import { configsPerResourceMax, nodesMax, partitionsPerTopicMax, producerIdBlockSize, replicationFactorMax, topicsPerRequestMax } from '../limits.js';
import {
  configResourceKey,
  isElrEnabled,
  MetadataDelta,
  type BrokerRegistration,
  type MetadataImage,
  type PartitionImage,
  type TopicImage,
} from './image.js';
import { invariant } from './invariant.js';
import {
  elrFeatureName,
  Endpoint,
  newTopicId,
  type ConfigResourceType,
  type MetadataRecord,
  type PartitionChangeRecord,
  type TopicId,
} from './records.js';
import { dropFromElr, electLeader, electOrOffline, electPreferred, removeFromIsr, withIsr, type ElectionPolicy, type LeaderAndIsr } from './election.js';
import { loadOf, placeReplicas, validateAssignment } from './placement.js';
import { configDefsFor, effectiveClusterConfig, topicMinIsr, topicUncleanElection, validateConfig, validateTopicName } from './topic-config.js';

/** The controller node's own settings that handlers read. */
export interface ControllerSettings {
  /** The node's static broker-level configs (Kafka key names), the defaults under cluster dynamic configs. */
  readonly staticConfigs: ReadonlyMap<string, string>;
  /** Producer ids per AllocateProducerIds block. */
  readonly producerIdBlockSize: number;
}

export const defaultControllerSettings: ControllerSettings = Object.freeze({ staticConfigs: new Map(), producerIdBlockSize });

export interface CommandContext {
  /** The offset the first returned record will have in the metadata log; must follow image.offset. */
  readonly nextOffset: number;
  /** For topic ids and placement tie-breaks. */
  readonly random: Random;
  readonly settings: ControllerSettings;
}

export interface CommandResult<R> {
  readonly records: readonly MetadataRecord[];
  readonly response: R;
}

export type CommandOutcome<R> = CommandResult<R> | RaftlineError;

export function isCommandError<R>(outcome: CommandOutcome<R>): outcome is RaftlineError {
  return outcome instanceof RaftlineError;
}

/** Records under construction: each is replayed onto a private delta as it is added, so reads see earlier ones. */
class Batch {
  readonly records: MetadataRecord[] = [];
  private readonly delta: MetadataDelta;
  private offset: number;

  constructor(readonly image: MetadataImage, readonly ctx: CommandContext) {
    invariant(ctx.nextOffset > image.offset, () => `next offset ${ctx.nextOffset} does not follow the image at ${image.offset}`);
    this.delta = new MetadataDelta(image);
    this.offset = ctx.nextOffset;
  }

  /** The offset the next added record will have. */
  get nextOffset(): number {
    return this.offset;
  }

  add(record: MetadataRecord): void {
    this.delta.replay(record, this.offset);
    this.offset++;
    this.records.push(record);
  }

  broker(brokerId: number): BrokerRegistration | undefined {
    return this.delta.broker(brokerId);
  }

  partition(topicId: TopicId, partitionId: number): PartitionImage {
    const p = this.delta.partition(topicId, partitionId);
    invariant(p !== undefined, () => `missing partition ${topicId}-${partitionId}`);
    return p;
  }

  readonly isActive = (brokerId: number): boolean => {
    const b = this.delta.broker(brokerId);
    return b !== undefined && !b.fenced && !b.inControlledShutdown;
  };

  policy(topicName: string, overrides: Partial<ElectionPolicy> = {}): ElectionPolicy {
    return {
      isActive: this.isActive,
      elrEnabled: isElrEnabled(this.image),
      minIsr: topicMinIsr(this.image, topicName, this.ctx.settings.staticConfigs),
      uncleanEnabled: topicUncleanElection(this.image, topicName, this.ctx.settings.staticConfigs),
      ...overrides,
    };
  }

  /** Adds the partition-change record that turns the current state into `next`, if anything differs. */
  changePartition(topicId: TopicId, partitionId: number, next: LeaderAndIsr, unclean: boolean): boolean {
    const old = this.partition(topicId, partitionId);
    const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
    const record: PartitionChangeRecord = { type: 'partition-change', version: 0, topicId, partitionId, unclean };
    if (next.leader !== old.leader) record.leader = next.leader;
    if (!same(next.isr, old.isr)) record.isr = [...next.isr];
    if (!same(next.elr, old.elr)) record.elr = [...next.elr];
    if (!same(next.lastKnownElr, old.lastKnownElr)) record.lastKnownElr = [...next.lastKnownElr];
    invariant(!unclean || record.leader !== undefined, 'an unclean change must elect a leader');
    const changed = record.leader !== undefined || record.isr !== undefined || record.elr !== undefined || record.lastKnownElr !== undefined;
    if (changed) this.add(record);
    return changed;
  }

  result<R>(response: R): CommandResult<R> {
    return { records: this.records, response };
  }
}

function run<R>(fn: () => CommandResult<R>): CommandOutcome<R> {
  try {
    return fn();
  } catch (e) {
    if (e instanceof RaftlineError) return e;
    throw e;
  }
}

/** Runs a per-item step; a RaftlineError becomes that item's wire error, anything else is a bug and propagates. */
function perItem(fn: () => void): WireError | null {
  try {
    fn();
    return null;
  } catch (e) {
    if (e instanceof RaftlineError) return e.toWire();
    throw e;
  }
}

function* partitionsOf(image: MetadataImage): Generator<{ topic: TopicImage; partitionId: number }> {
  for (const topic of image.topicsById.values()) {
    for (let partitionId = 0; partitionId < topic.partitions.length; partitionId++) yield { topic, partitionId };
  }
}

function requireBroker(image: MetadataImage, brokerId: number, brokerEpoch: number): BrokerRegistration {
  const b = image.brokers.get(brokerId);
  if (b === undefined) throw new RaftlineError('BROKER_ID_NOT_REGISTERED', `broker ${brokerId} is not registered`);
  if (b.brokerEpoch !== brokerEpoch) {
    throw new RaftlineError('STALE_BROKER_EPOCH', `broker ${brokerId} sent epoch ${brokerEpoch}, but its registration has epoch ${b.brokerEpoch}`);
  }
  return b;
}

// ---------------------------------------------------------------------------------------------------------------
// Broker lifecycle (KIP-631)

/**
 * Fences `brokerId` inside a batch: the fence record, then every partition it was in the ISR of loses it (to the
 * ELR where KIP-966 says so) and every partition it led elects a new leader or goes offline.
 */
function fenceInBatch(batch: Batch, brokerId: number): void {
  const b = batch.broker(brokerId);
  invariant(b !== undefined, `fence of unregistered broker ${brokerId}`);
  if (!b.fenced) batch.add({ type: 'fence-broker', version: 0, brokerId, brokerEpoch: b.brokerEpoch });
  moveAwayFrom(batch, brokerId);
}

/** Takes `brokerId` (no longer active) out of every ISR and leadership. */
function moveAwayFrom(batch: Batch, brokerId: number): void {
  invariant(!batch.isActive(brokerId), `moving partitions away from active broker ${brokerId}`);
  for (const { topic, partitionId } of partitionsOf(batch.image)) {
    const p = batch.partition(topic.topicId, partitionId);
    if (!p.isr.includes(brokerId) && p.leader !== brokerId) continue;
    const change = removeFromIsr(p, brokerId, batch.policy(topic.name));
    batch.changePartition(topic.topicId, partitionId, change.state, change.unclean);
  }
}

/** Elects leaders for offline partitions that `brokerId`, newly active, can lead. */
function electOfflineWith(batch: Batch, brokerId: number): void {
  for (const { topic, partitionId } of partitionsOf(batch.image)) {
    const p = batch.partition(topic.topicId, partitionId);
    if (p.leader !== -1 || !p.replicas.includes(brokerId)) continue;
    const elected = electLeader(p, batch.policy(topic.name));
    if (elected.kind === 'elected') batch.changePartition(topic.topicId, partitionId, elected.state, elected.unclean);
  }
}

export interface RegisterBrokerRequest {
  readonly brokerId: number;
  /** A fresh id per broker process start; tells a restart from a duplicate. */
  readonly incarnationId: string;
  readonly rack: string | null;
  readonly endpoints: readonly Endpoint[];
  /** The epoch the broker held when it last shut down cleanly, or -1 (KIP-966: a mismatch means unclean shutdown). */
  readonly previousBrokerEpoch: number;
}

export interface RegisterBrokerResponse {
  /** The broker's new epoch: the offset of its registration record. */
  readonly brokerEpoch: number;
}

/**
 * BrokerRegistration (KIP-631). A new registration starts fenced. A live registration of another incarnation is
 * DUPLICATE_BROKER_REGISTRATION. Re-registering fences the old registration's partitions first; after an unclean
 * shutdown the broker also leaves every ELR (KIP-966).
 */
export function registerBroker(image: MetadataImage, req: RegisterBrokerRequest, ctx: CommandContext): CommandOutcome<RegisterBrokerResponse> {
  return run(() => {
    if (!Number.isSafeInteger(req.brokerId) || req.brokerId < 0 || req.brokerId >= nodesMax) {
      throw new RaftlineError('INVALID_REQUEST', `broker id ${req.brokerId} must be an integer in [0, ${nodesMax})`);
    }
    if (req.incarnationId.length === 0) throw new RaftlineError('INVALID_REQUEST', 'the incarnation id is empty');
    if (req.rack !== null && req.rack.length === 0) throw new RaftlineError('INVALID_REQUEST', 'broker.rack is empty; leave it unset instead');
    const badEndpoint = req.endpoints.find((e) => !Endpoint.safeParse(e).success);
    if (badEndpoint !== undefined) throw new RaftlineError('INVALID_REQUEST', `endpoint ${JSON.stringify(badEndpoint)} needs a name, a host and a port in [0, 65535]`);
    const batch = new Batch(image, ctx);
    const existing = image.brokers.get(req.brokerId);
    if (existing !== undefined) {
      if (!existing.fenced && existing.incarnationId !== req.incarnationId) {
        throw new RaftlineError('DUPLICATE_BROKER_REGISTRATION', `broker ${req.brokerId} is registered and unfenced with incarnation ${existing.incarnationId}`);
      }
      fenceInBatch(batch, req.brokerId);
      if (req.previousBrokerEpoch !== existing.brokerEpoch) {
        for (const { topic, partitionId } of partitionsOf(image)) {
          const p = batch.partition(topic.topicId, partitionId);
          if (p.elr.includes(req.brokerId)) batch.changePartition(topic.topicId, partitionId, dropFromElr(p, req.brokerId), false);
        }
      }
    }
    const brokerEpoch = batch.nextOffset;
    batch.add({
      type: 'register-broker',
      version: 0,
      brokerId: req.brokerId,
      incarnationId: req.incarnationId,
      brokerEpoch,
      rack: req.rack,
      endpoints: req.endpoints.map((e) => ({ ...e })),
    });
    return batch.result({ brokerEpoch });
  });
}

export interface BrokerHeartbeatRequest {
  readonly brokerId: number;
  readonly brokerEpoch: number;
  /** The highest metadata offset the broker has replayed. */
  readonly currentMetadataOffset: number;
  /** The broker asks to stay (or become) fenced, e.g. while it cannot serve. */
  readonly wantFence: boolean;
  /** The broker asks for controlled shutdown. */
  readonly wantShutDown: boolean;
}

export interface BrokerHeartbeatResponse {
  readonly isCaughtUp: boolean;
  readonly isFenced: boolean;
  /** Controlled shutdown is complete: the broker may stop. */
  readonly shouldShutDown: boolean;
}

/**
 * BrokerHeartbeat (KIP-631), the image side: unfences a caught-up broker (and elects it where partitions are
 * offline), fences one that asks, and drives controlled shutdown. The session deadline is liveness.ts's business:
 * the caller records the heartbeat there too.
 */
export function brokerHeartbeat(image: MetadataImage, req: BrokerHeartbeatRequest, ctx: CommandContext): CommandOutcome<BrokerHeartbeatResponse> {
  return run(() => {
    const b = requireBroker(image, req.brokerId, req.brokerEpoch);
    if (req.wantShutDown) return controlledShutdownIn(image, b, req.currentMetadataOffset, ctx);
    const batch = new Batch(image, ctx);
    const isCaughtUp = req.currentMetadataOffset >= b.brokerEpoch;
    if (req.wantFence) {
      if (!b.fenced) fenceInBatch(batch, b.brokerId);
    } else if (b.fenced && isCaughtUp && !b.inControlledShutdown) {
      batch.add({ type: 'unfence-broker', version: 0, brokerId: b.brokerId, brokerEpoch: b.brokerEpoch });
      electOfflineWith(batch, b.brokerId);
    }
    const after = batch.broker(b.brokerId)!;
    return batch.result({ isCaughtUp, isFenced: after.fenced, shouldShutDown: false });
  });
}

export interface ControlledShutdownRequest {
  readonly brokerId: number;
  readonly brokerEpoch: number;
  readonly currentMetadataOffset: number;
}

/**
 * Controlled shutdown (KIP-631, via heartbeats with wantShutDown): the first request marks the broker as shutting
 * down and moves its leaderships and ISR memberships away; once it leads nothing and has replayed everything the
 * controller has (so it has seen those moves), it is fenced and told it may stop. A fenced broker may stop at once.
 */
export function controlledShutdown(image: MetadataImage, req: ControlledShutdownRequest, ctx: CommandContext): CommandOutcome<BrokerHeartbeatResponse> {
  return run(() => controlledShutdownIn(image, requireBroker(image, req.brokerId, req.brokerEpoch), req.currentMetadataOffset, ctx));
}

function controlledShutdownIn(image: MetadataImage, b: BrokerRegistration, currentMetadataOffset: number, ctx: CommandContext): CommandResult<BrokerHeartbeatResponse> {
  const batch = new Batch(image, ctx);
  const isCaughtUp = currentMetadataOffset >= b.brokerEpoch;
  if (b.fenced) return batch.result({ isCaughtUp, isFenced: true, shouldShutDown: true });
  if (!b.inControlledShutdown) {
    batch.add({ type: 'broker-registration-change', version: 0, brokerId: b.brokerId, brokerEpoch: b.brokerEpoch, inControlledShutdown: true });
    moveAwayFrom(batch, b.brokerId);
    return batch.result({ isCaughtUp, isFenced: false, shouldShutDown: false });
  }
  const leadsSomething = [...partitionsOf(image)].some(({ topic, partitionId }) => topic.partitions[partitionId]!.leader === b.brokerId);
  if (leadsSomething || currentMetadataOffset < image.offset) return batch.result({ isCaughtUp, isFenced: false, shouldShutDown: false });
  fenceInBatch(batch, b.brokerId);
  return batch.result({ isCaughtUp, isFenced: true, shouldShutDown: true });
}

export interface FenceBrokerResponse {
  /** Partitions whose leader or ISR changed. */
  readonly partitionsChanged: number;
}

/** The reaction to an expired session (liveness.expiredBrokers): fence the broker and move its partitions. */
export function fenceBroker(image: MetadataImage, brokerId: number, ctx: CommandContext): CommandOutcome<FenceBrokerResponse> {
  return run(() => {
    const b = image.brokers.get(brokerId);
    if (b === undefined) throw new RaftlineError('BROKER_ID_NOT_REGISTERED', `broker ${brokerId} is not registered`);
    const batch = new Batch(image, ctx);
    if (!b.fenced) fenceInBatch(batch, brokerId);
    return batch.result({ partitionsChanged: batch.records.filter((r) => r.type === 'partition-change').length });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Topics

export interface CreatableTopic {
  readonly name: string;
  /** -1 for num.partitions. */
  readonly numPartitions: number;
  /** -1 for default.replication.factor. */
  readonly replicationFactor: number;
  /** Explicit replica lists, one per partition (then numPartitions and replicationFactor must be -1). */
  readonly assignments?: readonly (readonly number[])[];
  readonly configs: Readonly<Record<string, string>>;
}

export interface CreateTopicsRequest {
  readonly topics: readonly CreatableTopic[];
  readonly validateOnly: boolean;
}

export interface CreateTopicResult {
  readonly name: string;
  readonly error: WireError | null;
  /** Absent on error and with validateOnly. */
  readonly topicId?: TopicId;
  readonly numPartitions?: number;
  readonly replicationFactor?: number;
}

export interface CreateTopicsResponse {
  readonly topics: readonly CreateTopicResult[];
}

function checkConfigs(type: ConfigResourceType, configs: Readonly<Record<string, string>>): void {
  const entries = Object.entries(configs);
  if (entries.length > configsPerResourceMax) throw new RaftlineError('INVALID_CONFIG', `${entries.length} configs given; at most ${configsPerResourceMax} are allowed`);
  for (const [k, v] of entries) validateConfig(type, k, v);
}

/** Kafka refuses topic names that differ only in '.' versus '_', since metric names cannot tell them apart. */
function collisionKey(name: string): string {
  return name.replaceAll('.', '_');
}

/** Brokers that may take new replicas and leaderships. */
function activeBrokers(image: MetadataImage): BrokerRegistration[] {
  return [...image.brokers.values()].filter((b) => !b.fenced && !b.inControlledShutdown).sort((a, b) => a.brokerId - b.brokerId);
}

/** Initial partition state for a replica list: the ISR is its active members, led by the first of them. */
function initialPartition(replicas: readonly number[], isActive: (id: number) => boolean, partitionId: number): { isr: number[]; leader: number } {
  const isr = replicas.filter(isActive);
  if (isr.length === 0) {
    throw new RaftlineError('INVALID_REPLICA_ASSIGNMENT', `every broker assigned to partition ${partitionId} (${JSON.stringify(replicas)}) is fenced or shutting down`);
  }
  return { isr, leader: isr[0]! };
}

function requireCount(what: string, value: number, min: number, max: number, code: 'INVALID_PARTITIONS' | 'INVALID_REPLICATION_FACTOR'): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RaftlineError(code, `${what} ${value} must be an integer in [${min}, ${max}]`);
  }
}

/** CreateTopics: validates each topic on its own; a bad topic gets its error and does not stop the others. */
export function createTopics(image: MetadataImage, req: CreateTopicsRequest, ctx: CommandContext): CommandOutcome<CreateTopicsResponse> {
  return run(() => {
    if (req.topics.length > topicsPerRequestMax) throw new RaftlineError('INVALID_REQUEST', `${req.topics.length} topics in one request; at most ${topicsPerRequestMax}`);
    const batch = new Batch(image, ctx);
    const seen = new Map<string, number>();
    for (const t of req.topics) seen.set(t.name, (seen.get(t.name) ?? 0) + 1);
    const existingByCollisionKey = new Map([...image.topicsByName.keys()].map((n) => [collisionKey(n), n]));
    const results = req.topics.map((t): CreateTopicResult => {
      let created: CreateTopicResult | undefined;
      const error = perItem(() => {
        if ((seen.get(t.name) ?? 0) > 1) throw new RaftlineError('INVALID_REQUEST', `topic ${JSON.stringify(t.name)} appears more than once in the request`);
        validateTopicName(t.name);
        if (image.topicsByName.has(t.name)) throw new RaftlineError('TOPIC_ALREADY_EXISTS', `topic ${JSON.stringify(t.name)} already exists`);
        const collides = existingByCollisionKey.get(collisionKey(t.name));
        if (collides !== undefined) {
          throw new RaftlineError('INVALID_TOPIC_EXCEPTION', `topic ${JSON.stringify(t.name)} collides with ${JSON.stringify(collides)}: '.' and '_' are the same in metric names`);
        }
        checkConfigs('topic', t.configs);
        let assignment: number[][];
        if (t.assignments !== undefined) {
          if (t.numPartitions !== -1 || t.replicationFactor !== -1) {
            throw new RaftlineError('INVALID_REQUEST', `topic ${JSON.stringify(t.name)}: give either assignments or numPartitions/replicationFactor, not both`);
          }
          requireCount('number of partitions', t.assignments.length, 1, partitionsPerTopicMax, 'INVALID_PARTITIONS');
          validateAssignment(t.assignments, new Set(image.brokers.keys()));
          assignment = t.assignments.map((r) => [...r]);
        } else {
          const statics = ctx.settings.staticConfigs;
          const numPartitions = t.numPartitions === -1 ? Number(effectiveClusterConfig(image, 'num.partitions', statics)) : t.numPartitions;
          const rf = t.replicationFactor === -1 ? Number(effectiveClusterConfig(image, 'default.replication.factor', statics)) : t.replicationFactor;
          requireCount('number of partitions', numPartitions, 1, partitionsPerTopicMax, 'INVALID_PARTITIONS');
          requireCount('replication factor', rf, 1, replicationFactorMax, 'INVALID_REPLICATION_FACTOR');
          const brokers = activeBrokers(image);
          if (rf > brokers.length) {
            throw new RaftlineError('INVALID_REPLICATION_FACTOR', `replication factor ${rf} is larger than the ${brokers.length} live (unfenced) brokers`);
          }
          assignment = placeReplicas({ brokers, partitions: numPartitions, replicationFactor: rf, startIndex: ctx.random.int(brokers.length) });
        }
        const initial = assignment.map((replicas, i) => initialPartition(replicas, batch.isActive, i));
        let topicId = newTopicId(ctx.random);
        while (image.topicsById.has(topicId)) topicId = newTopicId(ctx.random);
        created = { name: t.name, error: null, numPartitions: assignment.length, replicationFactor: assignment[0]!.length };
        existingByCollisionKey.set(collisionKey(t.name), t.name);
        if (req.validateOnly) return;
        created = { ...created, topicId };
        batch.add({ type: 'topic', version: 0, name: t.name, topicId });
        assignment.forEach((replicas, partitionId) => {
          const { isr, leader } = initial[partitionId]!;
          batch.add({ type: 'partition', version: 0, topicId, partitionId, replicas, isr, elr: [], lastKnownElr: [], leader, leaderEpoch: 0, partitionEpoch: 0 });
        });
        for (const [name, value] of Object.entries(t.configs).sort(([a], [b]) => a.localeCompare(b))) {
          batch.add({ type: 'config', version: 0, resourceType: 'topic', resourceName: t.name, name, value });
        }
      });
      return error === null ? created! : { name: t.name, error };
    });
    return batch.result({ topics: results });
  });
}

export interface DeleteTopicsRequest {
  /** Topics by name or by id. */
  readonly topics: readonly ({ readonly name: string } | { readonly topicId: TopicId })[];
}

export interface DeleteTopicResult {
  readonly name: string | null;
  readonly topicId: TopicId | null;
  readonly error: WireError | null;
}

/** DeleteTopics: each unknown topic gets UNKNOWN_TOPIC_OR_PARTITION (by name) or UNKNOWN_TOPIC_ID (by id). */
export function deleteTopics(image: MetadataImage, req: DeleteTopicsRequest, ctx: CommandContext): CommandOutcome<{ readonly topics: readonly DeleteTopicResult[] }> {
  return run(() => {
    if (req.topics.length > topicsPerRequestMax) throw new RaftlineError('INVALID_REQUEST', `${req.topics.length} topics in one request; at most ${topicsPerRequestMax}`);
    const batch = new Batch(image, ctx);
    const removed = new Set<TopicId>();
    const results = req.topics.map((ref): DeleteTopicResult => {
      const topic = 'name' in ref ? image.topicsByName.get(ref.name) : image.topicsById.get(ref.topicId);
      const error = perItem(() => {
        if (topic === undefined) {
          if ('name' in ref) throw new RaftlineError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${JSON.stringify(ref.name)} does not exist`);
          throw new RaftlineError('UNKNOWN_TOPIC_ID', `no topic has id ${ref.topicId}`);
        }
        if (removed.has(topic.topicId)) throw new RaftlineError('INVALID_REQUEST', `topic ${JSON.stringify(topic.name)} appears more than once in the request`);
        removed.add(topic.topicId);
        batch.add({ type: 'remove-topic', version: 0, topicId: topic.topicId });
      });
      return {
        name: topic?.name ?? ('name' in ref ? ref.name : null),
        topicId: topic?.topicId ?? ('topicId' in ref ? ref.topicId : null),
        error,
      };
    });
    return batch.result({ topics: results });
  });
}

export interface CreatePartitionsRequest {
  readonly topics: readonly { readonly name: string; readonly count: number; readonly assignments?: readonly (readonly number[])[] }[];
  readonly validateOnly: boolean;
}

/** CreatePartitions: grows a topic to `count` partitions, placing the new ones to keep the topic even. */
export function createPartitions(image: MetadataImage, req: CreatePartitionsRequest, ctx: CommandContext): CommandOutcome<{ readonly topics: readonly { readonly name: string; readonly error: WireError | null }[] }> {
  return run(() => {
    if (req.topics.length > topicsPerRequestMax) throw new RaftlineError('INVALID_REQUEST', `${req.topics.length} topics in one request; at most ${topicsPerRequestMax}`);
    const batch = new Batch(image, ctx);
    const seen = new Set<string>();
    const results = req.topics.map((t) => ({
      name: t.name,
      error: perItem(() => {
        const topic = image.topicsByName.get(t.name);
        if (topic === undefined) throw new RaftlineError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${JSON.stringify(t.name)} does not exist`);
        if (seen.has(t.name)) throw new RaftlineError('INVALID_REQUEST', `topic ${JSON.stringify(t.name)} appears more than once in the request`);
        seen.add(t.name);
        const have = topic.partitions.length;
        if (!Number.isSafeInteger(t.count) || t.count <= have) {
          throw new RaftlineError('INVALID_PARTITIONS', `topic ${JSON.stringify(t.name)} has ${have} partitions; the new count ${t.count} must be larger`);
        }
        requireCount('number of partitions', t.count, have + 1, partitionsPerTopicMax, 'INVALID_PARTITIONS');
        const rf = topic.partitions[0]!.replicas.length;
        let added: number[][];
        if (t.assignments !== undefined) {
          if (t.assignments.length !== t.count - have) {
            throw new RaftlineError('INVALID_REPLICA_ASSIGNMENT', `${t.assignments.length} assignments given for ${t.count - have} new partitions`);
          }
          validateAssignment(t.assignments, new Set(image.brokers.keys()));
          if (t.assignments[0]!.length !== rf) throw new RaftlineError('INVALID_REPLICA_ASSIGNMENT', `the topic has replication factor ${rf}, the assignment ${t.assignments[0]!.length}`);
          added = t.assignments.map((r) => [...r]);
        } else {
          const brokers = activeBrokers(image);
          if (rf > brokers.length) {
            throw new RaftlineError('INVALID_REPLICATION_FACTOR', `replication factor ${rf} is larger than the ${brokers.length} live (unfenced) brokers`);
          }
          added = placeReplicas({ brokers, partitions: t.count - have, replicationFactor: rf, startIndex: ctx.random.int(brokers.length), ...loadOf(topic.partitions.map((p) => p.replicas)) });
        }
        const initial = added.map((replicas, i) => initialPartition(replicas, batch.isActive, have + i));
        if (req.validateOnly) return;
        added.forEach((replicas, i) => {
          const { isr, leader } = initial[i]!;
          batch.add({ type: 'partition', version: 0, topicId: topic.topicId, partitionId: have + i, replicas, isr, elr: [], lastKnownElr: [], leader, leaderEpoch: 0, partitionEpoch: 0 });
        });
      }),
    }));
    return batch.result({ topics: results });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Partitions

export interface AlterPartitionRequest {
  readonly brokerId: number;
  readonly brokerEpoch: number;
  readonly topicId: TopicId;
  readonly partitionId: number;
  /** The leader epoch the leader acts in. */
  readonly leaderEpoch: number;
  /** The partition epoch the leader last saw: the optimistic version of this update. */
  readonly partitionEpoch: number;
  readonly newIsr: readonly number[];
}

export interface AlterPartitionResponse {
  readonly leader: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly isr: readonly number[];
  readonly elr: readonly number[];
}

/**
 * AlterPartition (KIP-497, KIP-966): the leader shrinks or expands its ISR. Only the current leader in the current
 * leader epoch may, against the current partition epoch; new ISR members must be active brokers; members leaving
 * join the ELR while the ISR is below min.insync.replicas.
 */
export function alterPartition(image: MetadataImage, req: AlterPartitionRequest, ctx: CommandContext): CommandOutcome<AlterPartitionResponse> {
  return run(() => {
    requireBroker(image, req.brokerId, req.brokerEpoch);
    const topic = image.topicsById.get(req.topicId);
    if (topic === undefined) throw new RaftlineError('UNKNOWN_TOPIC_ID', `no topic has id ${req.topicId}`);
    const where = `${topic.name}-${req.partitionId}`;
    const p = topic.partitions[req.partitionId];
    if (p === undefined) throw new RaftlineError('UNKNOWN_TOPIC_OR_PARTITION', `partition ${where} does not exist`);
    if (p.leader !== req.brokerId) throw new RaftlineError('NOT_LEADER_OR_FOLLOWER', `broker ${req.brokerId} is not the leader of ${where} (the leader is ${p.leader})`);
    if (req.leaderEpoch !== p.leaderEpoch) {
      throw new RaftlineError('FENCED_LEADER_EPOCH', `leader epoch ${req.leaderEpoch} of ${where} is not the current ${p.leaderEpoch}`);
    }
    if (req.partitionEpoch !== p.partitionEpoch) {
      throw new RaftlineError('INVALID_UPDATE_VERSION', `partition epoch ${req.partitionEpoch} of ${where} is not the current ${p.partitionEpoch}`);
    }
    const isr = [...req.newIsr];
    if (new Set(isr).size !== isr.length || !isr.every((r) => p.replicas.includes(r))) {
      throw new RaftlineError('INVALID_REQUEST', `new ISR ${JSON.stringify(isr)} of ${where} is not a set of its replicas ${JSON.stringify(p.replicas)}`);
    }
    if (!isr.includes(p.leader)) throw new RaftlineError('INVALID_REQUEST', `new ISR ${JSON.stringify(isr)} of ${where} leaves out the leader ${p.leader}`);
    const batch = new Batch(image, ctx);
    const ineligible = isr.find((r) => !p.isr.includes(r) && !batch.isActive(r));
    if (ineligible !== undefined) {
      throw new RaftlineError('INELIGIBLE_REPLICA', `broker ${ineligible} may not join the ISR of ${where}: it is fenced, shutting down or not registered`);
    }
    const next = withIsr(p, isr, batch.policy(topic.name));
    batch.changePartition(topic.topicId, req.partitionId, next, false);
    const after = batch.partition(topic.topicId, req.partitionId);
    return batch.result({ leader: after.leader, leaderEpoch: after.leaderEpoch, partitionEpoch: after.partitionEpoch, isr: after.isr, elr: after.elr });
  });
}

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partitionId: number;
}

export interface ElectLeadersRequest {
  /** 'preferred': move leadership to the first replica; 'unclean': elect for offline partitions, even unclean. */
  readonly electionType: 'preferred' | 'unclean';
  /** The partitions, or null for all. */
  readonly partitions: readonly TopicPartitionRef[] | null;
}

export interface ElectLeaderResult extends TopicPartitionRef {
  readonly error: WireError | null;
}

/** ElectLeaders (KIP-460): ELECTION_NOT_NEEDED when nothing changes; PREFERRED_LEADER_NOT_AVAILABLE when it cannot. */
export function electLeaders(image: MetadataImage, req: ElectLeadersRequest, ctx: CommandContext): CommandOutcome<{ readonly partitions: readonly ElectLeaderResult[] }> {
  return run(() => {
    if (req.partitions !== null && req.partitions.length > partitionsPerTopicMax) {
      throw new RaftlineError('INVALID_REQUEST', `${req.partitions.length} partitions in one request; at most ${partitionsPerTopicMax}`);
    }
    const batch = new Batch(image, ctx);
    const refs: TopicPartitionRef[] = req.partitions === null
      ? [...partitionsOf(image)].map(({ topic, partitionId }) => ({ topic: topic.name, partitionId }))
      : [...req.partitions];
    const done = new Set<string>();
    const results = refs.map((ref) => ({
      ...ref,
      error: perItem(() => {
        const topic = image.topicsByName.get(ref.topic);
        if (topic === undefined || topic.partitions[ref.partitionId] === undefined) {
          throw new RaftlineError('UNKNOWN_TOPIC_OR_PARTITION', `partition ${ref.topic}-${ref.partitionId} does not exist`);
        }
        const key = `${topic.topicId}:${ref.partitionId}`;
        if (done.has(key)) throw new RaftlineError('INVALID_REQUEST', `partition ${ref.topic}-${ref.partitionId} appears more than once`);
        done.add(key);
        const p = batch.partition(topic.topicId, ref.partitionId);
        if (req.electionType === 'preferred') {
          const e = electPreferred(p, batch.isActive);
          if (e.kind === 'not-needed') throw new RaftlineError('ELECTION_NOT_NEEDED', `the preferred leader ${p.replicas[0]} already leads ${ref.topic}-${ref.partitionId}`);
          if (e.kind === 'unavailable') throw new RaftlineError('PREFERRED_LEADER_NOT_AVAILABLE', `${ref.topic}-${ref.partitionId}: ${e.reason}`);
          batch.changePartition(topic.topicId, ref.partitionId, e.state, false);
        } else {
          if (p.leader !== -1) throw new RaftlineError('ELECTION_NOT_NEEDED', `${ref.topic}-${ref.partitionId} has leader ${p.leader}`);
          const e = electOrOffline(p, batch.policy(topic.name, { uncleanEnabled: true }));
          if (e.state.leader === -1) throw new RaftlineError('LEADER_NOT_AVAILABLE', `no replica of ${ref.topic}-${ref.partitionId} is alive`);
          batch.changePartition(topic.topicId, ref.partitionId, e.state, e.unclean);
        }
      }),
    }));
    return batch.result({ partitions: results });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Configs

export interface AlterConfigOp {
  readonly key: string;
  readonly op: 'set' | 'delete' | 'append' | 'subtract';
  /** Required for set, append and subtract. */
  readonly value?: string;
}

export interface AlterConfigResource {
  readonly type: ConfigResourceType;
  /** A topic name, a broker id, or '' for the cluster. */
  readonly name: string;
  readonly ops: readonly AlterConfigOp[];
}

export interface IncrementalAlterConfigsRequest {
  readonly resources: readonly AlterConfigResource[];
  readonly validateOnly: boolean;
}

function applyOps(resource: AlterConfigResource, current: ReadonlyMap<string, string>): Map<string, string> {
  const next = new Map(current);
  const where = resource.type === 'cluster' ? 'the cluster' : `${resource.type} ${JSON.stringify(resource.name)}`;
  if (resource.ops.length > configsPerResourceMax) throw new RaftlineError('INVALID_REQUEST', `${resource.ops.length} operations on ${where}; at most ${configsPerResourceMax}`);
  for (const op of resource.ops) {
    const def = configDefsFor(resource.type).get(op.key);
    if (def === undefined) {
      throw new RaftlineError('INVALID_CONFIG', `unknown ${resource.type} config ${JSON.stringify(op.key)}: expected one of ${[...configDefsFor(resource.type).keys()].join(', ')}`);
    }
    if (op.op === 'delete') {
      next.delete(op.key);
      continue;
    }
    if (op.value === undefined) throw new RaftlineError('INVALID_REQUEST', `${op.op} of ${op.key} on ${where} needs a value`);
    if (op.op === 'set') {
      validateConfig(resource.type, op.key, op.value);
      next.set(op.key, op.value);
      continue;
    }
    if (def.type !== 'list') throw new RaftlineError('INVALID_CONFIG', `${op.op} applies only to list configs; ${op.key} is a ${def.type} config`);
    const items = (next.get(op.key) ?? def.defaultValue).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    const given = op.value.split(',').map((s) => s.trim());
    const value = op.op === 'append' ? [...items, ...given.filter((g) => !items.includes(g))] : items.filter((i) => !given.includes(i));
    if (value.length === 0) next.delete(op.key);
    else {
      validateConfig(resource.type, op.key, value.join(','));
      next.set(op.key, value.join(','));
    }
  }
  if (next.size > configsPerResourceMax) throw new RaftlineError('INVALID_CONFIG', `${where} would have ${next.size} configs; at most ${configsPerResourceMax}`);
  return next;
}

/**
 * IncrementalAlterConfigs: validates each resource on its own and writes one config record per changed key. A change
 * of min.insync.replicas empties the ELR of the affected partitions (KIP-966: the ELR's guarantee was stated against
 * the old value); turning unclean.leader.election.enable on elects leaders for the affected offline partitions.
 */
export function incrementalAlterConfigs(image: MetadataImage, req: IncrementalAlterConfigsRequest, ctx: CommandContext): CommandOutcome<{ readonly resources: readonly { readonly type: ConfigResourceType; readonly name: string; readonly error: WireError | null }[] }> {
  return run(() => {
    if (req.resources.length > topicsPerRequestMax) throw new RaftlineError('INVALID_REQUEST', `${req.resources.length} resources in one request; at most ${topicsPerRequestMax}`);
    const batch = new Batch(image, ctx);
    const seen = new Set<string>();
    const results = req.resources.map((r) => ({
      type: r.type,
      name: r.name,
      error: perItem(() => {
        const key = configResourceKey(r.type, r.name);
        if (seen.has(key)) throw new RaftlineError('INVALID_REQUEST', `resource ${r.type} ${JSON.stringify(r.name)} appears more than once`);
        seen.add(key);
        if (r.type === 'topic' && !image.topicsByName.has(r.name)) throw new RaftlineError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${JSON.stringify(r.name)} does not exist`);
        if (r.type === 'cluster' && r.name !== '') throw new RaftlineError('INVALID_REQUEST', `the cluster resource is named "", not ${JSON.stringify(r.name)}`);
        if (r.type === 'broker' && !/^\d+$/.test(r.name)) throw new RaftlineError('INVALID_REQUEST', `broker resource name ${JSON.stringify(r.name)} is not a broker id`);
        const current = image.configs.get(key) ?? new Map<string, string>();
        const next = applyOps(r, current);
        if (req.validateOnly) return;
        const keys = [...new Set([...current.keys(), ...next.keys()])].sort();
        for (const name of keys) {
          const value = next.get(name) ?? null;
          if (value !== (current.get(name) ?? null)) batch.add({ type: 'config', version: 0, resourceType: r.type, resourceName: r.name, name, value });
        }
        if (r.type !== 'broker') reactToConfigChange(batch, r, current, next);
      }),
    }));
    return batch.result({ resources: results });
  });
}

function reactToConfigChange(batch: Batch, r: AlterConfigResource, before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): void {
  const changed = (k: string): boolean => before.get(k) !== after.get(k);
  const affected = [...batch.image.topicsByName.values()].filter((t) => r.type !== 'topic' || t.name === r.name);
  // A cluster-level change reaches only topics without their own override of the key.
  const reaches = (t: TopicImage, key: string): boolean => r.type === 'topic' || !batch.image.configs.get(configResourceKey('topic', t.name))?.has(key);
  if (changed('min.insync.replicas')) {
    for (const t of affected.filter((x) => reaches(x, 'min.insync.replicas'))) {
      t.partitions.forEach((_, i) => {
        const p = batch.partition(t.topicId, i);
        if (p.elr.length === 0) return;
        // With an empty ISR the ELR members are the partition's only memory of who held its data: they stay
        // remembered as the last known ELR (unclean-election candidates) rather than vanish.
        const lastKnownElr = p.isr.length === 0 ? p.replicas.filter((r) => p.elr.includes(r) || p.lastKnownElr.includes(r)) : [];
        batch.changePartition(t.topicId, i, { ...p, elr: [], lastKnownElr }, false);
      });
    }
  }
  if (changed('unclean.leader.election.enable') && after.get('unclean.leader.election.enable')?.toLowerCase() === 'true') {
    for (const t of affected.filter((x) => reaches(x, 'unclean.leader.election.enable'))) {
      t.partitions.forEach((_, i) => {
        const p = batch.partition(t.topicId, i);
        if (p.leader !== -1) return;
        const e = electLeader(p, batch.policy(t.name, { uncleanEnabled: true }));
        if (e.kind === 'elected') batch.changePartition(t.topicId, i, e.state, e.unclean);
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Producer ids

export interface AllocateProducerIdsResponse {
  readonly firstProducerId: number;
  readonly count: number;
}

/** AllocateProducerIds (KIP-730): hands the broker the next block of producer ids. */
export function allocateProducerIds(image: MetadataImage, req: { readonly brokerId: number; readonly brokerEpoch: number }, ctx: CommandContext): CommandOutcome<AllocateProducerIdsResponse> {
  return run(() => {
    const b = requireBroker(image, req.brokerId, req.brokerEpoch);
    if (b.fenced) throw new RaftlineError('BROKER_ID_NOT_REGISTERED', `broker ${req.brokerId} is fenced`);
    const count = ctx.settings.producerIdBlockSize;
    invariant(Number.isSafeInteger(count) && count > 0, 'the producer id block size is positive');
    const first = image.nextProducerId;
    if (!Number.isSafeInteger(first + count)) throw new RaftlineError('UNKNOWN_SERVER_ERROR', 'producer ids are exhausted');
    const batch = new Batch(image, ctx);
    batch.add({ type: 'producer-ids', version: 0, brokerId: b.brokerId, brokerEpoch: b.brokerEpoch, nextProducerId: first + count });
    return batch.result({ firstProducerId: first, count });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Features

/** The features this controller knows and the highest level of each it supports. */
export const supportedFeatures: ReadonlyMap<string, number> = new Map([[elrFeatureName, 1]]);

/**
 * UpdateFeatures (KIP-584): finalizes a feature at a level (0 removes it). Turning ELR off empties every ELR and
 * last known ELR, since nothing maintains them while it is off, and refills ISRs that ELR had emptied.
 */
export function updateFeatures(image: MetadataImage, req: { readonly name: string; readonly level: number }, ctx: CommandContext): CommandOutcome<{ readonly level: number }> {
  return run(() => {
    const max = supportedFeatures.get(req.name);
    if (max === undefined) throw new RaftlineError('INVALID_REQUEST', `unknown feature ${JSON.stringify(req.name)}: expected one of ${[...supportedFeatures.keys()].join(', ')}`);
    if (!Number.isSafeInteger(req.level) || req.level < 0 || req.level > max) {
      throw new RaftlineError('INVALID_REQUEST', `feature ${req.name} level ${req.level} must be an integer in [0, ${max}]`);
    }
    const batch = new Batch(image, ctx);
    if ((image.features.get(req.name) ?? 0) === req.level) return batch.result({ level: req.level });
    batch.add({ type: 'feature-level', version: 0, name: req.name, level: req.level });
    if (req.name === elrFeatureName && req.level === 0) {
      // Without ELR an ISR is never empty: one emptied under ELR takes back the replicas that left it last (the ELR,
      // else the last known ELR), as the classic rule keeps the last ISR member; then a leader is sought among them.
      for (const { topic, partitionId } of partitionsOf(image)) {
        const p = batch.partition(topic.topicId, partitionId);
        if (p.elr.length === 0 && p.lastKnownElr.length === 0) continue;
        const isr = p.isr.length > 0 ? p.isr : p.elr.length > 0 ? p.elr : p.lastKnownElr;
        const cleared = { ...p, isr, elr: [], lastKnownElr: [] };
        const next = cleared.leader === -1 ? electOrOffline(cleared, batch.policy(topic.name, { elrEnabled: false })) : { state: cleared, unclean: false };
        batch.changePartition(topic.topicId, partitionId, next.state, next.unclean);
      }
    }
    return batch.result({ level: req.level });
  });
}
