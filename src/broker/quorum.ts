// The node's part in the metadata quorum, wired from the pieces of src/raft/ and src/controller/ (docs/controller.md,
// "Wiring a node"): the durable metadata log and quorum state on the node's Disk, a Raft node (a voter when the node is
// in controller.quorum.voters, else an observer), the metadata follower every node keeps, the quorum controller on
// voters, and the broker lifecycle (registration, heartbeats, controlled shutdown) on brokers.
import { RaftlineError } from '../wire/errors.js';
import type { NodeConfig } from './config.js';
import { createRpcControllerChannel, type RpcControllerChannel } from './controller-channel.js';
import { createBrokerLifecycle, type BrokerLifecycle } from './lifecycle.js';
import { createControllerClient, type ControllerClient } from './controller-client.js';
import { createMetadataFollowerFromLog, snapshotMetadataLog, type MetadataFollower } from '../controller/metadata-follower.js';
import type { MetadataImage } from '../controller/image.js';
import { elrFeatureName } from '../controller/records.js';
import { createQuorumController, metadataHandlers, type QuorumController } from '../controller/quorum-controller.js';
import { defaultControllerSettings } from '../controller/commands.js';
import { openRaftStorageLog, metadataLogDir, type StorageRaftLog } from '../raft/storage-log.js';
import { DiskQuorumStateStore } from '../raft/disk-quorum-store.js';
import { createRaftTransport, type RaftTransport } from '../raft/transport.js';
import { createRaftNode, raftConfig, type RaftNode } from '../raft/node.js';
import { randomHex, type Runtime } from '../runtime/index.js';
import { noResponse, type HandlerTable, type WireApis } from '../wire/index.js';
import { metadataSnapshotCheckMs, metadataSnapshotEntriesMin } from '../limits.js';
import { every } from '../runtime/clock.js';
import { ReplicaManager, dataHandlers } from '../replication/index.js';
import type { LogConfig } from '../storage/log-config.js';
import type { ControllerApi, ControllerApis } from '../wire/controller.js';
import type { RequestIn, ResponseOut } from '../wire/api.js';
import { createPeerClients, type PeerClients } from './peer-clients.js';
import { takeCleanShutdownMarker, uncleanBrokerEpoch, writeCleanShutdownMarker } from './clean-shutdown.js';

export interface NodeQuorum {
  readonly raft: RaftNode;
  readonly transport: RaftTransport;
  readonly follower: MetadataFollower;
  readonly controller: QuorumController | undefined;
  readonly lifecycle: BrokerLifecycle | undefined;
  /** The broker's partition replicas (brokers only). */
  readonly replication: ReplicaManager | undefined;
  /** The controller api family as this node serves it (the controller's on voters; reads and forwarding on brokers),
   * and on brokers the data family. */
  readonly handlers: HandlerTable<WireApis>;
  /** Joined: a leader is known, and a broker is registered and unfenced. */
  joined(): boolean;
  /** Controlled shutdown (brokers), resignation (a leading voter), then everything stops. */
  close(): Promise<void>;
}

/** The node's static broker configs, under Kafka's key names, as the controller's defaults for topics. */
function staticConfigsOf(config: NodeConfig): Map<string, string> {
  return new Map([
    ['num.partitions', String(config.numPartitions)],
    ['default.replication.factor', String(config.defaultReplicationFactor)],
    ['min.insync.replicas', String(config.minInsyncReplicas)],
    ['unclean.leader.election.enable', String(config.uncleanLeaderElection)],
    ['log.retention.ms', String(config.retentionMs)],
    ['log.retention.bytes', String(config.retentionBytes)],
    ['log.segment.bytes', String(config.segmentBytes)],
    ['log.roll.ms', String(config.segmentMs)],
    ['message.max.bytes', String(config.messageMaxBytes)],
    ['log.preallocate.bytes', String(config.preallocateBytes)],
  ]);
}

/** The static voter addresses, falling back to a lookup (the metadata image) for any other node id. */
class PeerDirectory extends Map<number, string> {
  constructor(
    entries: Array<[number, string]>,
    private readonly lookup: (id: number) => string | undefined,
  ) {
    super(entries);
  }

  override get(id: number): string | undefined {
    return super.get(id) ?? this.lookup(id);
  }
}

export async function startQuorum(config: NodeConfig, runtime: Runtime, advertised: { host: string; port: number }): Promise<NodeQuorum> {
  const { clock, random, network, disk } = runtime;
  const logger = runtime.log.child({ component: 'quorum' });
  const dir = metadataLogDir('');
  const log: StorageRaftLog = await openRaftStorageLog({ disk, dir, clock, logger });
  const store = new DiskQuorumStateStore({ disk, dir });
  // KIP-966: whether the last stop was clean is decided now, before any partition log is opened and written; the marker
  // is gone (durably) from here on, so a crash of this incarnation reads as unclean at the next start.
  const previousBrokerEpoch = config.roles.broker ? await takeCleanShutdownMarker(disk, '', logger) : uncleanBrokerEpoch;
  const voterIds = config.voters.map((v) => v.id);
  // Voters are addressed from controller.quorum.voters; observers (broker-only nodes) are not listed there, so a voter
  // answering their fetches finds them by their registration in the metadata image (every node serves Raft on its one
  // port). Without this, a broker-only node never hears back, never catches up, and is never unfenced.
  const peers = new PeerDirectory(
    config.voters.filter((v) => v.id !== config.nodeId).map((v) => [v.id, `${v.host}:${v.port}`]),
    (id) => {
      // Only called when connecting, which happens after `follower` below exists (the node sends nothing before).
      const image: MetadataImage = follower.image();
      const endpoint = image.brokers.get(id)?.endpoints[0];
      return endpoint === undefined ? undefined : `${endpoint.host}:${endpoint.port}`;
    },
  );
  const transport = createRaftTransport({ nodeId: config.nodeId, network, clock, peers, logger });

  const follower = await createMetadataFollowerFromLog(log);
  const raft = createRaftNode({
    config: raftConfig(config.nodeId, voterIds, {
      electionTimeoutMs: config.electionTimeoutMs,
      fetchTimeoutMs: config.fetchTimeoutMs,
      electionBackoffMaxMs: config.electionBackoffMaxMs,
    }),
    clock,
    random: random.split('raft'),
    log,
    store,
    logger,
    send: (to, message) => transport.send(to, message),
    listener: follower.listener,
  });
  transport.setReceiver((message) => raft.deliver(message));
  // Fast failover: a reset connection to the leader starts a (pre-)vote early instead of after the fetch timeout.
  transport.setUnreachableReceiver((peer) => raft.peerUnreachable(peer));

  const staticConfigs = staticConfigsOf(config);
  const isVoter = voterIds.includes(config.nodeId);
  const addressOf = (id: number): string | undefined => {
    const voter = config.voters.find((v) => v.id === id);
    return voter === undefined ? undefined : `${voter.host}:${voter.port}`;
  };
  let channel: RpcControllerChannel | undefined;
  // Brokers reach the controller through one client (lifecycle, AlterPartition, producer-id blocks), so a call that
  // finds the controller moved sends every later call of any kind straight there.
  let controllerClient: ControllerClient | undefined;
  if (config.roles.broker) {
    channel = createRpcControllerChannel({ network, clock, addressOf, log: logger });
    controllerClient = createControllerClient({ channel: channel.send, voters: voterIds, hint: () => follower.leadership().leaderId, logger });
  }
  const controller = isVoter
    ? createQuorumController({
        nodeId: config.nodeId,
        clusterId: config.clusterId,
        raft,
        follower,
        clock,
        random: random.split('controller'),
        logger,
        staticConfigs,
        settings: { ...defaultControllerSettings, staticConfigs },
        sessionTimeoutMs: config.sessionTimeoutMs,
        features: new Map(config.eligibleLeaderReplicas ? [[elrFeatureName, 1]] : []),
      })
    : undefined;
  const handlers = (controller?.handlers ??
    metadataHandlers({
      nodeId: config.nodeId,
      clusterId: config.clusterId,
      raft,
      follower,
      clock,
      staticConfigs,
      ...(channel === undefined ? {} : { forward: channel.send }),
    })) as HandlerTable<WireApis>;
  raft.start();

  const lifecycle = config.roles.broker
    ? createBrokerLifecycle({
        brokerId: config.nodeId,
        clusterId: config.clusterId,
        incarnationId: randomHex(random, 16),
        rack: config.rack ?? null,
        endpoints: [{ name: 'ws', host: advertised.host, port: advertised.port }],
        voters: voterIds,
        previousBrokerEpoch,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        requestTimeoutMs: Math.min(config.requestTimeoutMs, config.sessionTimeoutMs),
        clock,
        logger,
        channel: channel!.send,
        metadataOffset: () => follower.image().offset,
        controllerHint: () => follower.leadership().leaderId,
        ...(controllerClient === undefined ? {} : { controller: controllerClient }),
      })
    : undefined;

  // The data plane (brokers): partition replicas driven by every committed image, follower fetches over RPC clients
  // to the leaders' registered endpoints, ISR changes and producer-id blocks through the controller channel.
  let replication: ReplicaManager | undefined;
  let stopReplicationChecks: (() => void) | undefined;
  let dataPeers: PeerClients | undefined;
  if (lifecycle !== undefined && controllerClient !== undefined) {
    const brokerController = controllerClient;
    const brokerLifecycle = lifecycle;
    // Every voter is tried before giving up (the client moves on after each refusal or silence), so a stale or
    // missing hint costs a few round trips, never the call.
    const toController = <K extends ControllerApi>(api: K, body: RequestIn<ControllerApis, K>): Promise<ResponseOut<ControllerApis, K>> =>
      brokerController.request(api, body, Math.min(config.requestTimeoutMs, 5_000));
    const peerClients = createPeerClients({
      network,
      clock,
      log: logger,
      addressOf: (brokerId) => {
        const endpoint = follower.image().brokers.get(brokerId)?.endpoints[0];
        return endpoint === undefined ? undefined : `${endpoint.host}:${endpoint.port}`;
      },
    });
    dataPeers = peerClients;
    const unlimited = (v: number): number => (v < 0 ? Number.POSITIVE_INFINITY : v);
    const logConfig: Partial<LogConfig> = {
      segmentBytes: config.segmentBytes,
      segmentMs: config.segmentMs,
      retentionMs: unlimited(config.retentionMs),
      retentionBytes: unlimited(config.retentionBytes),
      flushIntervalMessages: config.flushIntervalMessages,
      flushIntervalMs: unlimited(config.flushIntervalMs),
      maxMessageBytes: config.messageMaxBytes,
      preallocateBytes: config.preallocateBytes,
    };
    // Controller calls carry the epoch of this broker's registration; before it has one there is nothing to send (the
    // controller's schema refuses -1 as INVALID_REQUEST, a permanent error for what is only a wait).
    const registeredEpoch = (): number => {
      const epoch = brokerLifecycle.status().brokerEpoch;
      if (epoch < 0) throw new RaftlineError('BROKER_NOT_AVAILABLE', `broker ${config.nodeId} has not registered with the controller yet`);
      return epoch;
    };
    const manager = new ReplicaManager({
      brokerId: config.nodeId,
      clusterId: config.clusterId,
      clock,
      disk,
      logger: runtime.log,
      settings: { lagTimeMaxMs: config.replicaLagTimeMaxMs, fetchWaitMaxMs: config.replicaFetchWaitMaxMs, requestTimeoutMs: config.requestTimeoutMs },
      staticConfigs,
      logConfig,
      controller: {
        alterPartition: async (proposal) =>
          toController('controller.alter-partition', {
            brokerId: config.nodeId,
            brokerEpoch: registeredEpoch(),
            topicId: proposal.topicId,
            partitionId: proposal.partitionId,
            leaderEpoch: proposal.leaderEpoch,
            partitionEpoch: proposal.partitionEpoch,
            newIsr: [...proposal.newIsr],
          }),
        allocateProducerIds: async () => toController('controller.allocate-producer-ids', { brokerId: config.nodeId, brokerEpoch: registeredEpoch() }),
      },
      send: (leaderId, request, timeoutMs) => peerClients.request(leaderId, 'data.fetch', request, timeoutMs),
      controllerId: () => follower.leadership().leaderId,
    });
    replication = manager;
    // A restarting broker replays old metadata first: images in which it still leads partitions it lost long ago. It
    // must not act on those (it could acknowledge writes in a stale epoch), so images are applied only once the
    // controller has unfenced it, which it does when the broker's replay reached its new registration (KIP-631).
    let caughtUp = false;
    const applyLatest = (): void => {
      if (!caughtUp && brokerLifecycle.status().fenced) return;
      caughtUp = true;
      void manager.applyImage(follower.image());
    };
    follower.subscribe((event) => {
      if (event.type === 'committed') applyLatest();
    });
    const stopCatchUpCheck = every(clock, 100, () => {
      if (caughtUp) return;
      applyLatest();
    });
    stopReplicationChecks = stopCatchUpCheck;
  }
  const allHandlers = (replication === undefined || dataPeers === undefined
    ? handlers
    : { ...handlers, ...dataHandlers(replication, logger), 'controller.describe-topics': describeWithHighWatermarks(handlers, replication, dataPeers) }) as HandlerTable<WireApis>;

  // KIP-630: once enough committed entries follow the last snapshot, snapshot the image and drop the log before it, so
  // the metadata log (held in memory past its snapshot) stays bounded. One snapshot at a time.
  let snapshotting = false;
  const stopSnapshots = every(clock, metadataSnapshotCheckMs, () => {
    if (snapshotting || follower.appliedOffset() - log.startOffset() < metadataSnapshotEntriesMin) return;
    snapshotting = true;
    snapshotMetadataLog(raft, log, follower).then(
      (made) => {
        snapshotting = false;
        if (made) logger.info({ endOffset: follower.appliedOffset() }, 'metadata snapshot written');
      },
      (err: unknown) => {
        snapshotting = false;
        logger.warn({ err }, 'metadata snapshot failed; will retry');
      },
    );
  });

  let closing: Promise<void> | undefined;
  return {
    raft,
    transport,
    follower,
    controller,
    lifecycle,
    replication,
    handlers: allHandlers,
    joined: () => follower.leadership().leaderId !== null && (lifecycle === undefined || !lifecycle.status().fenced),
    close() {
      closing ??= (async () => {
        if (lifecycle !== undefined) {
          // Controlled shutdown lets the controller move this broker's leaderships away first; it is bounded so a
          // cluster without a controller cannot hold the process.
          await Promise.race([lifecycle.shutdown(), new Promise<void>((resolve) => clock.setTimeout(resolve, Math.max(500, config.shutdownTimeoutMs / 2)))]);
          lifecycle.halt();
        }
        // Replicas stop after the controlled shutdown moved their leaderships away; parked requests are answered.
        stopReplicationChecks?.();
        const flushed = (await replication?.close()) ?? false;
        // The clean-shutdown marker goes last, after every log was flushed: it vouches that nothing acknowledged is
        // missing from them, under the epoch the controller knows this broker by (KIP-966).
        // A broker stopped before it registered keeps vouching for the epoch its last clean stop recorded.
        const registered = lifecycle?.status().brokerEpoch ?? uncleanBrokerEpoch;
        const brokerEpoch = registered >= 0 ? registered : previousBrokerEpoch;
        if (flushed && brokerEpoch >= 0) {
          await writeCleanShutdownMarker(disk, '', brokerEpoch).then(
            () => logger.info({ brokerEpoch }, 'clean-shutdown marker written'),
            (err: unknown) => logger.warn({ err }, 'could not write the clean-shutdown marker; the next start counts as unclean'),
          );
        } else if (replication !== undefined) {
          logger.warn({ flushed, brokerEpoch }, 'no clean-shutdown marker: a log was offline or the broker never registered');
        }
        dataPeers?.close();
        raft.resign();
        // Give the EndQuorumEpoch a moment to leave before the connections close.
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 50));
        stopSnapshots();
        controller?.stop();
        raft.stop();
        channel?.close();
        await transport.close();
        await log.close();
      })();
      return closing;
    },
  };
}

type DescribeTopicsHandler = NonNullable<HandlerTable<WireApis>['controller.describe-topics']>;

/**
 * Topic describe on a broker: the image's answer, plus each partition's high watermark, which only its leader knows.
 * This broker answers for the partitions it leads and asks every other leader once (data.list-offsets, latest) with a
 * short timeout; a leader that does not answer leaves its partitions without one.
 */
function describeWithHighWatermarks(handlers: HandlerTable<WireApis>, replication: ReplicaManager, peers: PeerClients): DescribeTopicsHandler {
  const inner = handlers['controller.describe-topics'];
  if (inner === undefined) throw new Error('quorum: no describe-topics handler to extend');
  return async (body, context) => {
    const answer = await inner(body, context);
    if (answer === noResponse) return answer;
    const byLeader = new Map<number, Map<string, number[]>>();
    for (const topic of answer.topics) {
      for (const p of topic.partitions) {
        if (p.leader < 0) continue;
        const own = p.leader === replication.brokerId ? replication.replica(topic.name, p.partitionId) : undefined;
        if (own !== undefined && own.currentRole === 'leader') {
          p.highWatermark = own.highWatermark;
          continue;
        }
        const topics = byLeader.get(p.leader) ?? new Map<string, number[]>();
        topics.set(topic.name, [...(topics.get(topic.name) ?? []), p.partitionId]);
        byLeader.set(p.leader, topics);
      }
    }
    await Promise.all(
      [...byLeader].map(async ([leaderId, topics]) => {
        try {
          const res = await peers.request(
            leaderId,
            'data.list-offsets',
            { topics: [...topics].map(([name, ids]) => ({ name, partitions: ids.map((partitionId) => ({ partitionId, timestamp: -1 })) })) },
            1_000,
          );
          for (const t of res.topics) {
            const described = answer.topics.find((d) => d.name === t.name);
            for (const r of t.partitions) {
              const p = described?.partitions.find((d) => d.partitionId === r.partitionId);
              if (p !== undefined && r.error === null && r.offset >= 0) p.highWatermark = r.offset;
            }
          }
        } catch {
          // The leader is unreachable right now: describe still answers, without its high watermarks.
        }
      }),
    );
    return answer;
  };
}
