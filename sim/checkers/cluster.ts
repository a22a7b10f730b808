// The control plane's safety properties as simulator checkers, over what every live node's real code holds at each
// step: at most one active controller per Raft epoch; one leader per partition and leader epoch across every
// committed image; a fenced (or shutting-down) broker never leads a partition in a committed image, at a command-batch
// boundary, while another ISR member could lead; every node's committed image at a given offset is the same image; no
// leader from outside the ISR and ELR unless the topic allows unclean elections.
// Each check costs O(nodes) per step plus O(image) per node whose image changed since the last step.
import { createHash } from 'node:crypto';
import { encodeImageSnapshot } from '../../src/controller/metadata-follower.js';
import { configResourceKey, isBrokerActive, type MetadataImage } from '../../src/controller/image.js';
import type { MetadataRecord } from '../../src/controller/records.js';
import type { Checker, Fail } from '../system.js';

export const clusterCheckerNames = [
  'cluster.one-active-controller-per-epoch',
  'cluster.one-leader-per-partition-epoch',
  'cluster.fenced-leader-moved',
  'cluster.same-image-at-offset',
  'cluster.clean-election',
] as const;
export type ClusterCheckerName = (typeof clusterCheckerNames)[number];

/** What a checker sees of one live node at a step. */
export interface ClusterNodeView {
  readonly nodeId: number;
  readonly incarnation: number;
  /** The node's committed metadata image (its MetadataFollower). */
  readonly image: MetadataImage;
  /** Voters only: the controller machine's role and the Raft epoch it believes it leads or follows. */
  readonly controller: { readonly role: 'inactive' | 'activating' | 'active'; readonly epoch: number } | null;
  /**
   * The active controller's images at command-batch boundaries (its committed image and the image after each
   * pending batch), with the last offset of each pending batch; empty for others.
   */
  readonly batchImages: readonly MetadataImage[];
  readonly pendingBatchEnds: readonly number[];
  /** The metadata records of offsets `from`..`to` (inclusive) from the node's log, or null when it no longer has them. */
  records(from: number, to: number): MetadataRecord[] | null;
}

/** The partitions a fenced or shutting-down leader still leads although another ISR member is active. */
export function strandedLeaders(image: MetadataImage): string[] {
  const out: string[] = [];
  for (const topic of image.topicsById.values()) {
    topic.partitions.forEach((p, i) => {
      if (p.leader === -1 || isBrokerActive(image, p.leader)) return;
      const replacement = p.isr.find((r) => r !== p.leader && isBrokerActive(image, r));
      if (replacement !== undefined) out.push(`${topic.name}-${i} led by inactive broker ${p.leader} while ISR member ${replacement} is active (image offset ${image.offset})`);
    });
  }
  return out;
}

/**
 * Unclean elections from `before` to `after` (one node's consecutive committed images), read from the metadata
 * records in between (`records`: those of offsets before.offset+1 .. after.offset, or null when the node's log no
 * longer holds them — then nothing is judged): a partition-change flagged unclean, named with whether its topic
 * allowed it. (An image diff alone cannot tell: an ISR expansion and a clean election of the newcomer look the same.)
 */
export function uncleanElections(
  before: MetadataImage,
  after: MetadataImage,
  records: readonly MetadataRecord[] | null,
  uncleanDefault: boolean,
): Array<{ where: string; leader: number; leaderEpoch: number; allowed: boolean }> {
  const out: Array<{ where: string; leader: number; leaderEpoch: number; allowed: boolean }> = [];
  if (records === null) return out;
  for (const r of records) {
    if (r.type !== 'partition-change' || !r.unclean || r.leader === undefined) continue;
    const topic = after.topicsById.get(r.topicId) ?? before.topicsById.get(r.topicId);
    if (topic === undefined) continue;
    const setting = after.configs.get(configResourceKey('topic', topic.name))?.get('unclean.leader.election.enable');
    const allowed = setting === undefined ? uncleanDefault : setting.toLowerCase() === 'true';
    out.push({ where: `${topic.name}-${r.partitionId}`, leader: r.leader, leaderEpoch: after.topicsById.get(r.topicId)?.partitions[r.partitionId]?.leaderEpoch ?? -1, allowed });
  }
  return out;
}

/** A digest of an image's whole content (its KIP-630 snapshot encoding). */
export function imageDigest(image: MetadataImage): string {
  return createHash('sha256').update(encodeImageSnapshot(image)).digest('hex');
}

/** Collects observations and the first violation of each checker; the checkers report them by name. */
export class ClusterSafetyMonitor {
  private readonly pending = new Map<ClusterCheckerName, string>();
  private readonly activeOfEpoch = new Map<number, number>();
  private readonly leaderOf = new Map<string, number>();
  private readonly digestAt = new Map<number, { digest: string; node: number }>();
  private readonly batchEnds = new Set<number>();
  /** The image (and incarnation) each node was last seen with: unchanged images are not looked at again. */
  private readonly lastImage = new Map<number, MetadataImage>();
  private readonly lastIncarnation = new Map<number, number>();
  private readonly checkedBatchImages = new WeakSet<MetadataImage>();
  /** Images compared and partitions looked at (a spec checks the monitor did look). */
  readonly stats = { images: 0, activeControllers: 0, batchImages: 0, uncleanElections: 0 };

  /** `uncleanDefault`: the nodes' static unclean.leader.election.enable, for topics that do not set it. */
  constructor(private readonly uncleanDefault = false) {}

  violation(name: ClusterCheckerName, message: string): void {
    if (!this.pending.has(name)) this.pending.set(name, message);
  }

  take(name: ClusterCheckerName): string | undefined {
    const m = this.pending.get(name);
    this.pending.delete(name);
    return m;
  }

  onStep(nodes: readonly ClusterNodeView[]): void {
    for (const n of nodes) {
      if (n.controller?.role === 'active') {
        this.stats.activeControllers++;
        const known = this.activeOfEpoch.get(n.controller.epoch);
        if (known === undefined) this.activeOfEpoch.set(n.controller.epoch, n.nodeId);
        else if (known !== n.nodeId) this.violation('cluster.one-active-controller-per-epoch', `nodes ${known} and ${n.nodeId} were both the active controller in epoch ${n.controller.epoch}`);
      }
      for (const end of n.pendingBatchEnds) this.batchEnds.add(end);
      for (const image of n.batchImages) this.onBatchImage(n.nodeId, image);
    }
    for (const n of nodes) {
      const before = this.lastIncarnation.get(n.nodeId) === n.incarnation ? this.lastImage.get(n.nodeId) : undefined;
      if (before === n.image) continue;
      this.lastImage.set(n.nodeId, n.image);
      this.lastIncarnation.set(n.nodeId, n.incarnation);
      this.onCommittedImage(n.nodeId, n.image, before, before === undefined ? null : n.records(before.offset + 1, n.image.offset));
    }
  }

  /** A committed image of a node, seen for the first time (`before`: the node's previous one, same incarnation). */
  onCommittedImage(nodeId: number, image: MetadataImage, before?: MetadataImage, records: readonly MetadataRecord[] | null = null): void {
    if (image.offset < 0) return;
    if (before !== undefined) {
      for (const e of uncleanElections(before, image, records, this.uncleanDefault)) {
        this.stats.uncleanElections++;
        if (!e.allowed) this.violation('cluster.clean-election', `${e.where}: broker ${e.leader} elected leader in epoch ${e.leaderEpoch} from outside the ISR and ELR although unclean.leader.election.enable is false (node ${nodeId}, offset ${image.offset})`);
      }
    }
    this.stats.images++;
    const digest = imageDigest(image);
    const seen = this.digestAt.get(image.offset);
    if (seen === undefined) this.digestAt.set(image.offset, { digest, node: nodeId });
    else if (seen.digest !== digest) this.violation('cluster.same-image-at-offset', `nodes ${seen.node} and ${nodeId} hold different metadata images at offset ${image.offset}`);
    for (const topic of image.topicsById.values()) {
      topic.partitions.forEach((p, i) => {
        if (p.leader === -1) return;
        const key = `${topic.topicId}/${i}/${p.leaderEpoch}`;
        const known = this.leaderOf.get(key);
        if (known === undefined) this.leaderOf.set(key, p.leader);
        else if (known !== p.leader) this.violation('cluster.one-leader-per-partition-epoch', `${topic.name}-${i} had leaders ${known} and ${p.leader} in leader epoch ${p.leaderEpoch} (node ${nodeId}, offset ${image.offset})`);
      });
    }
    if (this.batchEnds.has(image.offset)) this.checkStranded(`node ${nodeId}'s committed image`, image);
  }

  private onBatchImage(nodeId: number, image: MetadataImage): void {
    if (this.checkedBatchImages.has(image)) return;
    this.checkedBatchImages.add(image);
    this.stats.batchImages++;
    this.checkStranded(`active controller ${nodeId}'s image`, image);
  }

  private checkStranded(where: string, image: MetadataImage): void {
    const stranded = strandedLeaders(image);
    if (stranded.length > 0) this.violation('cluster.fenced-leader-moved', `${where}: ${stranded[0]}`);
  }
}

export interface ClusterCheckerSource {
  monitor: ClusterSafetyMonitor;
  views(): ClusterNodeView[];
}

export function clusterCheckers(source: ClusterCheckerSource): Checker[] {
  const { monitor } = source;
  const observe: Checker = {
    // Runs first: turns this step's node states into observations for the named checkers after it.
    name: 'cluster.observe',
    onStep() {
      monitor.onStep(source.views());
    },
  };
  const report = (name: ClusterCheckerName): Checker => ({
    name,
    onStep(_sim, fail: Fail) {
      const m = monitor.take(name);
      if (m !== undefined) fail(m);
    },
  });
  return [observe, ...clusterCheckerNames.map(report)];
}
