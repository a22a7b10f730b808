// The controller chart driven by scripted events (etcd-style interaction tests): Raft progress, commits and proposal
// results are injected by hand, so each transition of inactive → activating → active and back can be pinned down.
import { setImmediate as flushTurn } from 'node:timers/promises';
import test from 'ava';
import { createActor } from 'xstate';
import { createTopics, defaultControllerSettings, registerBroker, isCommandError, type CommandOutcome } from '../../src/controller/commands.js';
import { applyRecords, emptyImage, type MetadataImage } from '../../src/controller/image.js';
import { controllerMachine, type RaftProgress, type WriteCommand } from '../../src/controller/machine.js';
import type { MetadataRecord } from '../../src/controller/records.js';
import type { ProposeResult } from '../../src/raft/ports.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { createManualClock } from '../helpers/manual-clock.js';
import { seededRandom } from './fixtures.js';

const self = 1;

/** The first per-item error code of a response like CreateTopics', if any. */
function itemError(response: unknown): string | undefined {
  const items = (response as { topics?: { error: { code: string } | null }[] }).topics;
  return items?.[0]?.error?.code;
}

function harness() {
  const clock = createManualClock(0);
  let raftNow: RaftProgress = { isLeader: true, epoch: 1, highWatermark: 1, endOffset: 1, lastEpoch: 1 };
  const proposals: { records: readonly MetadataRecord[]; resolve: (r: ProposeResult) => void }[] = [];
  const actor = createActor(controllerMachine, {
    clock,
    input: {
      committed: emptyImage,
      raft: { isLeader: false, epoch: 0, highWatermark: 0, endOffset: 0, lastEpoch: 0 },
      ports: {
        nodeId: self,
        clock,
        random: seededRandom(5),
        logger: silentLogger,
        settings: defaultControllerSettings,
        sessionTimeoutMs: 2_000,
        sessionCheckMs: 100,
        propose: (records) => new Promise<ProposeResult>((resolve) => proposals.push({ records, resolve })),
        progress: () => raftNow,
      },
    },
  });
  actor.start();
  const answers: string[] = [];
  const write = (name: string, run: WriteCommand['run'], session?: WriteCommand['session']): void => {
    actor.send({
      type: 'controller.write',
      command: {
        name,
        run,
        ...(session === undefined ? {} : { session }),
        reply: (outcome: CommandOutcome<unknown>) => ({
          deliver: () => answers.push(`${name}: ${isCommandError(outcome) ? outcome.code : itemError(outcome.response) ?? 'ok'}`),
          fail: (error: RaftlineError) => answers.push(`${name}: ${error.code} (${error.message})`),
        }),
      },
    });
  };
  const role = (): string => {
    const v = actor.getSnapshot().value;
    return typeof v === 'string' ? v : Object.keys(v)[0]!;
  };
  const setRaft = (p: RaftProgress): void => {
    raftNow = p;
  };
  return { clock, actor, proposals, answers, write, role, setRaft };
}

const progress = (p: Partial<RaftProgress>): RaftProgress => ({ isLeader: true, epoch: 1, highWatermark: 0, endOffset: 1, lastEpoch: 1, ...p });

test('controller machine: a new leader refuses writes until its leader-change record is committed, then serves', (t) => {
  const h = harness();
  h.write('early', () => ({ records: [], response: {} }));
  t.regex(h.answers.pop() ?? '', /^early: NOT_CONTROLLER .*no leader is known/);
  h.actor.send({ type: 'raft.leadership', epoch: 1, leaderId: self, image: emptyImage, raft: progress({ highWatermark: 0 }) });
  t.is(h.role(), 'activating');
  h.write('during', () => ({ records: [], response: {} }));
  t.regex(h.answers.pop() ?? '', /^during: NOT_CONTROLLER .*becoming the active controller/);
  h.actor.send({ type: 'raft.committed', image: emptyImage, highWatermark: 1, raft: progress({ highWatermark: 1 }) });
  t.is(h.role(), 'active');
  h.actor.stop();
});

test('controller machine: a write is proposed at the log end and answered only when its batch commits', (t) => {
  const h = harness();
  h.actor.send({ type: 'raft.leadership', epoch: 1, leaderId: self, image: emptyImage, raft: progress({ highWatermark: 1 }) });
  t.is(h.role(), 'active');
  h.write('register', (image, ctx) => registerBroker(image, { brokerId: 7, incarnationId: 'a', rack: null, endpoints: [], previousBrokerEpoch: -1 }, ctx), { brokerId: 7, metadataOffset: -1, fresh: true });
  t.is(h.proposals.length, 1);
  t.is(h.proposals[0]!.records[0]?.type, 'register-broker');
  t.deepEqual(h.answers, [], 'not answered before commit');
  // A second write sees the first one's effect on the uncommitted image, and waits behind it.
  h.write('create', (image, ctx) => createTopics(image, { topics: [{ name: 't', numPartitions: 1, replicationFactor: 1, configs: {} }], validateOnly: false }, ctx));
  t.deepEqual(h.answers, []);
  h.proposals[0]!.resolve({ ok: true, epoch: 1, baseOffset: 1, lastOffset: 1 });
  const committed: MetadataImage = applyRecords(emptyImage, h.proposals[0]!.records, 1);
  h.actor.send({ type: 'raft.committed', image: committed, highWatermark: 2, raft: progress({ highWatermark: 2, endOffset: 2 }) });
  t.deepEqual(h.answers, ['register: ok', 'create: INVALID_REPLICATION_FACTOR'], 'the broker is still fenced, so no replica can be placed');
  h.actor.stop();
});

test('controller machine: a refused proposal voids the uncommitted image; waiting writes get NOT_CONTROLLER and the controller re-syncs', async (t) => {
  const h = harness();
  h.actor.send({ type: 'raft.leadership', epoch: 1, leaderId: self, image: emptyImage, raft: progress({ highWatermark: 1 }) });
  h.write('first', (image, ctx) => registerBroker(image, { brokerId: 7, incarnationId: 'a', rack: null, endpoints: [], previousBrokerEpoch: -1 }, ctx));
  h.write('second', (image, ctx) => registerBroker(image, { brokerId: 8, incarnationId: 'b', rack: null, endpoints: [], previousBrokerEpoch: -1 }, ctx));
  // The first batch is in the log (offset 1) but not committed; Raft refuses the second.
  h.setRaft(progress({ highWatermark: 1, endOffset: 2 }));
  h.proposals[1]!.resolve({ ok: false, code: 'THROTTLING_QUOTA_EXCEEDED', leaderId: self, epoch: 1 });
  await flushTurn();
  t.is(h.role(), 'activating', 'it waits for what it already appended to commit before serving again');
  t.is(h.answers.length, 2);
  t.true(h.answers.every((a) => /NOT_CONTROLLER/.test(a)));
  t.false(h.actor.getSnapshot().context.images.uncommitted.brokers.has(8), 'the uncommitted registrations are forgotten');
  const committed = applyRecords(emptyImage, h.proposals[0]!.records, 1);
  h.actor.send({ type: 'raft.committed', image: committed, highWatermark: 2, raft: progress({ highWatermark: 2, endOffset: 2 }) });
  t.is(h.role(), 'active');
  t.true(h.actor.getSnapshot().context.images.uncommitted.brokers.has(7), 'it serves from the log as committed');
  h.actor.stop();
});

test('controller machine: losing leadership answers pending writes NOT_CONTROLLER and names the new leader afterwards', (t) => {
  const h = harness();
  h.actor.send({ type: 'raft.leadership', epoch: 1, leaderId: self, image: emptyImage, raft: progress({ highWatermark: 1 }) });
  h.write('register', (image, ctx) => registerBroker(image, { brokerId: 7, incarnationId: 'a', rack: null, endpoints: [], previousBrokerEpoch: -1 }, ctx));
  h.actor.send({ type: 'raft.leadership', epoch: 2, leaderId: 3, image: emptyImage, raft: progress({ isLeader: false, epoch: 2 }) });
  t.is(h.role(), 'inactive');
  t.regex(h.answers.shift() ?? '', /^register: NOT_CONTROLLER .*lost the controller role/);
  h.write('later', () => ({ records: [], response: {} }));
  t.regex(h.answers.shift() ?? '', /^later: NOT_CONTROLLER .*node 3 is \(epoch 2\)/);
  h.actor.stop();
});

test('controller machine: a registered broker that never heartbeats is fenced once its session expires', (t) => {
  const h = harness();
  h.actor.send({ type: 'raft.leadership', epoch: 1, leaderId: self, image: emptyImage, raft: progress({ highWatermark: 1 }) });
  h.write('register', (image, ctx) => registerBroker(image, { brokerId: 7, incarnationId: 'a', rack: null, endpoints: [], previousBrokerEpoch: -1 }, ctx), { brokerId: 7, metadataOffset: -1, fresh: true });
  h.proposals[0]!.resolve({ ok: true, epoch: 1, baseOffset: 1, lastOffset: 1 });
  // Registered brokers start fenced; unfence it by hand in the committed image the machine is told about.
  const registered = applyRecords(emptyImage, h.proposals[0]!.records, 1);
  const unfenced = applyRecords(registered, [{ type: 'unfence-broker', version: 0, brokerId: 7, brokerEpoch: 1 }], 2);
  // It re-wins leadership in epoch 2 with the unfenced state committed (another controller's write, say).
  h.actor.send({ type: 'raft.leadership', epoch: 2, leaderId: self, image: unfenced, raft: progress({ epoch: 2, lastEpoch: 2, highWatermark: 4, endOffset: 4 }) });
  t.is(h.role(), 'active');
  const before = h.proposals.length;
  h.clock.advance(1_900);
  t.is(h.proposals.length, before, 'a full session is granted on activation');
  h.clock.advance(300);
  t.is(h.proposals.length, before + 1);
  t.deepEqual(h.proposals.at(-1)!.records.map((r) => r.type), ['fence-broker']);
  t.is(h.proposals.at(-1)!.records[0]!.type === 'fence-broker' ? (h.proposals.at(-1)!.records[0] as { brokerId: number }).brokerId : -1, 7);
  h.actor.stop();
});
