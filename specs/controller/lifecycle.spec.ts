// A controller's loop in miniature, the way the controller machine will drive the pure core: heartbeats refresh
// sessions, an expired session fences the broker and moves its leaderships, answers wait for commit, and a
// controller that loses leadership falls back to the committed image.
import test from 'ava';
import { brokerHeartbeat, createTopics, defaultControllerSettings, fenceBroker, isCommandError, registerBroker, type CommandContext, type CommandOutcome } from '../../src/controller/commands.js';
import { checkImage, emptyImage, type MetadataImage } from '../../src/controller/image.js';
import { emptyLiveness, expiredBrokers, recordHeartbeat, type LivenessState } from '../../src/controller/liveness.js';
import { commitUpTo, propose, revertToCommitted, startImages, type ControllerImages } from '../../src/controller/pending.js';
import { brokerSessionTimeoutMsDefault as sessionMs } from '../../src/limits.js';
import { seededRandom } from './fixtures.js';

/** The parts of a controller machine's context that the pure core needs. */
class MiniController {
  images: ControllerImages<string> = startImages(emptyImage);
  liveness: LivenessState = emptyLiveness;
  logEnd = 0;
  answered: string[] = [];
  private readonly random = seededRandom(11);

  /** Runs a handler on the uncommitted image and "appends" its records at the log end. */
  write<R>(token: string, handler: (img: MetadataImage, ctx: CommandContext) => CommandOutcome<R>): R {
    const ctx = { nextOffset: this.logEnd, random: this.random, settings: defaultControllerSettings };
    const out = handler(this.images.uncommitted, ctx);
    if (isCommandError(out)) throw out;
    const p = propose(this.images, this.logEnd, out.records, token);
    this.images = p.state;
    this.logEnd += out.records.length;
    this.answered.push(...p.readyNow);
    return out.response;
  }

  /** The Raft high watermark reached the log end. */
  commitAll(): void {
    const c = commitUpTo(this.images, this.logEnd);
    this.images = c.state;
    this.answered.push(...c.committedTokens);
    checkImage(this.images.committed);
  }

  heartbeat(brokerId: number, nowMs: number): void {
    const b = this.images.uncommitted.brokers.get(brokerId)!;
    this.liveness = recordHeartbeat(this.liveness, brokerId, nowMs, sessionMs, this.images.uncommitted.offset);
    this.write(`hb-${brokerId}@${nowMs}`, (img, ctx) => brokerHeartbeat(img, { brokerId, brokerEpoch: b.brokerEpoch, currentMetadataOffset: img.offset, wantFence: false, wantShutDown: false }, ctx));
  }
}

function startCluster(): MiniController {
  const c = new MiniController();
  for (const id of [1, 2, 3]) {
    c.write(`reg-${id}`, (img, ctx) => registerBroker(img, { brokerId: id, incarnationId: `i${id}`, rack: null, endpoints: [], previousBrokerEpoch: -1 }, ctx));
    c.liveness = recordHeartbeat(c.liveness, id, 0, sessionMs, -1);
  }
  c.commitAll();
  for (const id of [1, 2, 3]) c.heartbeat(id, 0);
  c.commitAll();
  c.write('create', (img, ctx) => createTopics(img, { topics: [{ name: 'orders', numPartitions: 6, replicationFactor: 3, configs: {} }], validateOnly: false }, ctx));
  c.commitAll();
  return c;
}

test('lifecycle: a broker that stops heartbeating is fenced after the session timeout and loses its leaderships', (t) => {
  const c = startCluster();
  const ledBy3 = () => c.images.committed.topicsByName.get('orders')!.partitions.filter((p) => p.leader === 3).length;
  t.true(ledBy3() > 0);
  for (let now = 2_000; now <= 12_000; now += 2_000) {
    c.heartbeat(1, now);
    c.heartbeat(2, now);
    for (const id of expiredBrokers(c.liveness, c.images.uncommitted, now)) c.write(`fence-${id}`, (img, ctx) => fenceBroker(img, id, ctx));
    c.commitAll();
  }
  t.true(c.images.committed.brokers.get(3)?.fenced);
  t.is(ledBy3(), 0);
  t.true(c.images.committed.topicsByName.get('orders')!.partitions.every((p) => !p.isr.includes(3) && p.leader !== -1));
  t.true(c.answered.includes('fence-3'));
});

test('lifecycle: answers wait for commit, and a deposed controller reverts to the committed image', (t) => {
  const c = startCluster();
  const before = c.images.committed;
  c.answered = [];
  c.write('fence-2', (img, ctx) => fenceBroker(img, 2, ctx));
  t.deepEqual(c.answered, [], 'not answered before commit');
  t.true(c.images.uncommitted.brokers.get(2)?.fenced);
  const r = revertToCommitted(c.images);
  t.deepEqual(r.droppedTokens, ['fence-2']);
  t.is(r.state.uncommitted, before);
  t.false(r.state.uncommitted.brokers.get(2)?.fenced);
});
