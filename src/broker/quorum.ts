// The node's part in the metadata quorum, wired from the pieces of src/raft/ and src/controller/ (docs/controller.md,
// "Wiring a node"): the durable metadata log and quorum state on the node's Disk, a Raft node (a voter when the node is
// in controller.quorum.voters, else an observer), the metadata follower every node keeps, the quorum controller on
// voters, and the broker lifecycle (registration, heartbeats, controlled shutdown) on brokers.
import type { NodeConfig } from './config.js';
import { createRpcControllerChannel, type RpcControllerChannel } from './controller-channel.js';
import { createBrokerLifecycle, type BrokerLifecycle } from './lifecycle.js';
import { createMetadataFollowerFromLog, snapshotMetadataLog, type MetadataFollower } from '../controller/metadata-follower.js';
import { createQuorumController, metadataHandlers, type QuorumController } from '../controller/quorum-controller.js';
import { defaultControllerSettings } from '../controller/commands.js';
import { openRaftStorageLog, metadataLogDir, type StorageRaftLog } from '../raft/storage-log.js';
import { DiskQuorumStateStore } from '../raft/disk-quorum-store.js';
import { createRaftTransport, type RaftTransport } from '../raft/transport.js';
import { createRaftNode, raftConfig, type RaftNode } from '../raft/node.js';
import { randomHex, type Runtime } from '../runtime/index.js';
import type { HandlerTable, WireApis } from '../wire/index.js';
import { metadataSnapshotCheckMs, metadataSnapshotEntriesMin } from '../limits.js';
import { every } from '../runtime/clock.js';
import type { MetadataImage } from '../controller/image.js';
import { ReplicaManager, dataHandlers } from '../replication/index.js';
import type { LogConfig } from '../storage/log-config.js';
import { RaftlineError } from '../wire/errors.js';
import type { ControllerApi, ControllerApis } from '../wire/controller.js';
import type { RequestIn, ResponseOut } from '../wire/api.js';
import { createPeerClients, type PeerClients } from './peer-clients.js';

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
  ]);
}

export async function startQuorum(config: NodeConfig, runtime: Runtime, advertised: { host: string; port: number }): Promise<NodeQuorum> {
  const { clock, random, network, disk } = runtime;
  const logger = runtime.log.child({ component: 'quorum' });
  const dir = metadataLogDir('');
  const log: StorageRaftLog = await openRaftStorageLog({ disk, dir, clock, logger });
  const store = new DiskQuorumStateStore({ disk, dir });
  const voterIds = config.voters.map((v) => v.id);
  const peers = new Map(config.voters.filter((v) => v.id !== config.nodeId).map((v) => [v.id, `${v.host}:${v.port}`]));
  const transport = createRaftTransport({ nodeId: config.nodeId, network, clock, peers, logger });

  const follower = await createMetadataFollowerFromLog(log);
  // Raft answers on its own connection to the peer, so voters must reach broker-only observers too (their fetch
  // responses): those addresses come from the brokers' registrations in the committed image. Without this an
  // observer never hears back from the leader, never catches up and is never unfenced (found by the simulator).
  const learnObservers = (image: MetadataImage): void => {
    for (const b of image.brokers.values()) {
      const endpoint = b.endpoints[0];
      if (voterIds.includes(b.brokerId) || b.brokerId === config.nodeId || endpoint === undefined) continue;
      const address = `${endpoint.host}:${endpoint.port}`;
      if (peers.get(b.brokerId) !== address) peers.set(b.brokerId, address);
    }
  };
  learnObservers(follower.image());
  follower.subscribe((event) => {
    if (event.type === 'committed') learnObservers(event.image);
  });
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

  const staticConfigs = staticConfigsOf(config);
  const isVoter = voterIds.includes(config.nodeId);
  const addressOf = (id: number): string | undefined => {
    const voter = config.voters.find((v) => v.id === id);
    return voter === undefined ? undefined : `${voter.host}:${voter.port}`;
  };
  let channel: RpcControllerChannel | undefined;
  if (config.roles.broker) channel = createRpcControllerChannel({ network, clock, addressOf, log: logger });
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
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        requestTimeoutMs: Math.min(config.requestTimeoutMs, config.sessionTimeoutMs),
        clock,
        logger,
        channel: channel!.send,
        metadataOffset: () => follower.image().offset,
        controllerHint: () => follower.leadership().leaderId,
      })
    : undefined;

  // The data plane (brokers): partition replicas driven by every committed image, follower fetches over RPC clients
  // to the leaders' registered endpoints, ISR changes and producer-id blocks through the controller channel.
  let replication: ReplicaManager | undefined;
  let dataPeers: PeerClients | undefined;
  if (lifecycle !== undefined && channel !== undefined) {
    const brokerChannel = channel;
    const brokerLifecycle = lifecycle;
    const toController = <K extends ControllerApi>(api: K, body: RequestIn<ControllerApis, K>): Promise<ResponseOut<ControllerApis, K>> => {
      const leaderId = follower.leadership().leaderId;
      if (leaderId === null) return Promise.reject(new RaftlineError('NOT_CONTROLLER', 'no active controller known'));
      return brokerChannel.send(leaderId, api, body, Math.min(config.requestTimeoutMs, 5_000));
    };
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
        alterPartition: (proposal) =>
          toController('controller.alter-partition', {
            brokerId: config.nodeId,
            brokerEpoch: brokerLifecycle.status().brokerEpoch,
            topicId: proposal.topicId,
            partitionId: proposal.partitionId,
            leaderEpoch: proposal.leaderEpoch,
            partitionEpoch: proposal.partitionEpoch,
            newIsr: [...proposal.newIsr],
          }),
        allocateProducerIds: () => toController('controller.allocate-producer-ids', { brokerId: config.nodeId, brokerEpoch: brokerLifecycle.status().brokerEpoch }),
      },
      send: (leaderId, request, timeoutMs) => peerClients.request(leaderId, 'data.fetch', request, timeoutMs),
      controllerId: () => follower.leadership().leaderId,
    });
    replication = manager;
    follower.subscribe((event) => {
      if (event.type === 'committed') void manager.applyImage(event.image);
    });
    void manager.applyImage(follower.image());
  }
  const allHandlers = (replication === undefined ? handlers : { ...handlers, ...dataHandlers(replication, logger) }) as HandlerTable<WireApis>;

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
        await replication?.close();
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
