// The quorum controller's roles (KIP-631) as an xstate v5 chart: `inactive` (another node leads the metadata quorum),
// `activating` (this node leads, but serves only once every entry of its log, its own epoch's leader-change record
// included, is committed and replayed), `active` (handlers run on the uncommitted image, records go through Raft,
// answers wait for commit; expired broker sessions are fenced). Keeps: an answer is sent only after the records it
// depends on committed, and every request that cannot be answered that way is answered NOT_CONTROLLER, once.
// The arithmetic is in pending.ts, liveness.ts and commands.ts; the chart only decides.
import { assign, setup } from 'xstate';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { Random } from '../runtime/random.js';
import type { ProposeResult } from '../raft/ports.js';
import { NotControllerError, RaftlineError } from '../wire/errors.js';
import { isCommandError, type CommandContext, type CommandOutcome, type ControllerSettings } from './commands.js';
import type { MetadataImage } from './image.js';
import { invariant } from './invariant.js';
import { emptyLiveness, expiredBrokers, forgetBroker, recordHeartbeat, resetSessions, type LivenessState } from './liveness.js';
import { commitUpTo, isPendingFull, propose, revertToCommitted, startImages, type ControllerImages } from './pending.js';
import type { MetadataRecord } from './records.js';
import { fenceBroker } from './commands.js';

/** How an answer gets back to whoever asked: `deliver` once the records committed, `fail` if they never will. */
export interface Reply {
  deliver(): void;
  fail(error: RaftlineError): void;
}

/** A write request: a handler of commands.ts bound to its request, and where its answer goes. */
export interface WriteCommand {
  readonly name: string;
  run(image: MetadataImage, ctx: CommandContext): CommandOutcome<unknown>;
  /** Called with the handler's outcome; returns how to answer once it is safe to. */
  reply(outcome: CommandOutcome<unknown>): Reply;
  /** A heartbeat or registration from a broker: on success its session is renewed (registration starts a fresh one). */
  readonly session?: { readonly brokerId: number; readonly metadataOffset: number; readonly fresh: boolean };
}

/** The Raft node's progress as the host read it after a commit or a leadership change. */
export interface RaftProgress {
  readonly isLeader: boolean;
  readonly epoch: number;
  readonly highWatermark: number;
  readonly endOffset: number;
  readonly lastEpoch: number;
}

export interface ControllerMachinePorts {
  readonly nodeId: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly settings: ControllerSettings;
  readonly sessionTimeoutMs: number;
  readonly sessionCheckMs: number;
  /** Appends the records through Raft (RaftNode.propose after encoding). */
  propose(records: readonly MetadataRecord[]): Promise<ProposeResult>;
  /** Raft's progress now (read when a proposal's result arrives, outside Raft's own transition). */
  progress(): RaftProgress;
}

export interface ControllerContext {
  readonly ports: ControllerMachinePorts;
  /** The quorum leader as last heard. */
  leaderEpoch: number;
  leaderId: number | null;
  raft: RaftProgress;
  /** The committed image every node keeps (metadata-follower.ts). */
  committed: MetadataImage;
  /** The active controller's committed/uncommitted pair; equal to `committed` outside `active`. */
  images: ControllerImages<Reply>;
  /** Where the next proposed record will land in the Raft log (active only). */
  nextOffset: number;
  liveness: LivenessState;
  /** Bumped on every activation: proposal results from an earlier activation are ignored. */
  activation: number;
  /** Replies to send by the `answer` action right after the assign that produced them. */
  outbox: Outbox;
}

interface Outbox {
  readonly deliver: readonly Reply[];
  readonly fail: readonly { readonly reply: Reply; readonly error: RaftlineError }[];
  readonly propose: { readonly records: readonly MetadataRecord[]; readonly firstOffset: number } | null;
}

const emptyOutbox: Outbox = { deliver: [], fail: [], propose: null };

export type ControllerEvent =
  | { type: 'raft.leadership'; epoch: number; leaderId: number | null; image: MetadataImage; raft: RaftProgress }
  | { type: 'raft.committed'; image: MetadataImage; highWatermark: number; raft: RaftProgress }
  | { type: 'controller.write'; command: WriteCommand }
  | { type: 'controller.proposed'; activation: number; firstOffset: number; count: number; result: ProposeResult; raft: RaftProgress };

export interface ControllerInput {
  ports: ControllerMachinePorts;
  committed: MetadataImage;
  raft: RaftProgress;
}

function notController(context: ControllerContext, becoming = false): RaftlineError {
  const self = context.ports.nodeId;
  if (becoming) return new RaftlineError('NOT_CONTROLLER', `node ${self} is becoming the active controller (replaying the metadata log); retry shortly`);
  if (context.leaderId === null) return new RaftlineError('NOT_CONTROLLER', `node ${self} is not the active controller and no leader is known in epoch ${context.leaderEpoch} (election in progress); retry`);
  return new NotControllerError(`node ${self} is not the active controller; node ${context.leaderId} is (epoch ${context.leaderEpoch})`, context.leaderId);
}

function failAll(replies: readonly Reply[], error: RaftlineError): Outbox['fail'] {
  return replies.map((reply) => ({ reply, error }));
}

export const controllerSetup = setup({
  types: {
    context: {} as ControllerContext,
    events: {} as ControllerEvent,
    input: {} as ControllerInput,
  },
  delays: {
    sessionCheck: ({ context }) => context.ports.sessionCheckMs,
  },
  guards: {
    /** KIP-595/631: this node leads, and everything in its log (its leader-change record too) is committed and replayed. */
    isCaughtUpLeader: ({ context }) =>
      context.raft.isLeader &&
      context.leaderId === context.ports.nodeId &&
      context.raft.lastEpoch === context.raft.epoch &&
      context.raft.highWatermark === context.raft.endOffset,
    isSelfLeader: ({ event, context }) => event.type === 'raft.leadership' && event.leaderId === context.ports.nodeId,
    isOtherLeader: ({ event, context }) => event.type === 'raft.leadership' && event.leaderId !== context.ports.nodeId,
    /** A proposal of this activation was refused or landed elsewhere than the image assumed: the image is void. */
    isFailedProposal: ({ event, context }) =>
      event.type === 'controller.proposed' &&
      event.activation === context.activation &&
      (!event.result.ok || event.result.baseOffset !== event.firstOffset || event.result.lastOffset !== event.firstOffset + event.count - 1),
  },
  actions: {
    recordLeadership: assign(({ event }) => {
      invariant(event.type === 'raft.leadership', 'recordLeadership on another event');
      return { leaderEpoch: event.epoch, leaderId: event.leaderId, raft: event.raft };
    }),
    /**
     * Outside `active`: the committed image simply follows the log. Leadership events carry the image too, so the
     * image and the Raft progress the activation guard reads always describe the same moment.
     */
    followCommitted: assign(({ event }) => {
      invariant(event.type === 'raft.committed' || event.type === 'raft.leadership', 'followCommitted on another event');
      return { committed: event.image, raft: event.raft, images: startImages<Reply>(event.image) };
    }),
    rejectWrite: assign(({ context, event }) => {
      invariant(event.type === 'controller.write', 'rejectWrite on another event');
      const reply = event.command.reply(notController(context));
      return { outbox: { ...emptyOutbox, fail: [{ reply, error: notController(context) }] } };
    }),
    rejectWriteWhileActivating: assign(({ context, event }) => {
      invariant(event.type === 'controller.write', 'rejectWriteWhileActivating on another event');
      const error = notController(context, true);
      return { outbox: { ...emptyOutbox, fail: [{ reply: event.command.reply(error), error }] } };
    }),
    /** Entering `active`: both images are the committed one, the log ends where Raft's does, every broker gets a full session. */
    activate: assign(({ context }) => {
      invariant(context.committed.offset < context.raft.endOffset, 'the committed image is past the log end');
      context.ports.logger.info({ epoch: context.leaderEpoch, offset: context.raft.endOffset }, 'controller: active');
      return {
        images: startImages<Reply>(context.committed),
        nextOffset: context.raft.endOffset,
        liveness: resetSessions(context.committed, context.ports.clock.now(), context.ports.sessionTimeoutMs),
        activation: context.activation + 1,
        outbox: emptyOutbox,
      };
    }),
    /** Runs a write on the uncommitted image and queues its records for Raft (KIP-631's write path). */
    runWrite: assign(({ context, event }) => {
      invariant(event.type === 'controller.write', 'runWrite on another event');
      return runCommand(context, event.command);
    }),
    /** Fences every broker whose session expired (liveness.ts), one write per broker. */
    fenceExpired: assign(({ context }) => {
      const now = context.ports.clock.now();
      let next: ControllerContext = { ...context, outbox: emptyOutbox };
      const deliver: Reply[] = [];
      const fail: { reply: Reply; error: RaftlineError }[] = [];
      const proposals: NonNullable<Outbox['propose']>[] = [];
      for (const brokerId of expiredBrokers(context.liveness, context.images.uncommitted, now)) {
        context.ports.logger.warn({ brokerId }, 'controller: broker session expired, fencing it');
        const log = context.ports.logger;
        const command: WriteCommand = {
          name: 'fence-broker',
          run: (image, ctx) => fenceBroker(image, brokerId, ctx),
          reply: (outcome) => ({
            deliver: () => log.info({ brokerId, outcome: isCommandError(outcome) ? outcome.message : outcome }, 'controller: fenced broker'),
            fail: (error) => log.warn({ brokerId, code: error.code }, 'controller: fencing a broker was not committed'),
          }),
        };
        const step = runCommand(next, command);
        next = { ...next, ...step };
        deliver.push(...step.outbox.deliver);
        fail.push(...step.outbox.fail);
        if (step.outbox.propose !== null) proposals.push(step.outbox.propose);
      }
      // Proposals made in one step are contiguous: merge them so the effect stays one Raft append.
      const merged = proposals.length === 0 ? null : { firstOffset: proposals[0]!.firstOffset, records: proposals.flatMap((p) => p.records) };
      if (merged !== null) invariant(merged.firstOffset + merged.records.length === next.nextOffset, 'fence proposals are not contiguous');
      return { images: next.images, nextOffset: next.nextOffset, liveness: next.liveness, outbox: { deliver, fail, propose: merged } };
    }),
    /** The high watermark moved: batches below it are committed, their answers go out. */
    commitPending: assign(({ context, event }) => {
      invariant(event.type === 'raft.committed', 'commitPending on another event');
      const { state, committedTokens } = commitUpTo(context.images, event.highWatermark);
      if (state.pending.length === 0) {
        invariant(state.committed.offset === event.image.offset, () => `active image at ${state.committed.offset}, the replayed log at ${event.image.offset}`);
      }
      return { committed: event.image, raft: event.raft, images: state, outbox: { ...emptyOutbox, deliver: committedTokens } };
    }),
    /** Leadership (or a proposal) lost: nothing uncommitted survives; whoever waited learns NOT_CONTROLLER and retries. */
    abandonPending: assign(({ context }) => {
      const { state, droppedTokens } = revertToCommitted(context.images);
      const error = new RaftlineError('NOT_CONTROLLER', `node ${context.ports.nodeId} lost the controller role before the request committed; retry with the new controller`);
      if (droppedTokens.length > 0) context.ports.logger.warn({ dropped: droppedTokens.length }, 'controller: dropping uncommitted writes');
      return { images: state, liveness: emptyLiveness, outbox: { ...emptyOutbox, fail: failAll(droppedTokens, error) } };
    }),
    /** Sends what the last assign queued: the Raft append first, then the answers. */
    flushOutbox: ({ context, self }) => {
      const { outbox, activation } = context;
      if (outbox.propose !== null) {
        const { records, firstOffset } = outbox.propose;
        void context.ports.propose(records).then((result) => {
          self.send({ type: 'controller.proposed', activation, firstOffset, count: records.length, result, raft: context.ports.progress() });
        });
      }
      for (const reply of outbox.deliver) reply.deliver();
      for (const { reply, error } of outbox.fail) reply.fail(error);
    },
    clearOutbox: assign({ outbox: () => emptyOutbox }),
    /** After a failed proposal the activation guard must judge the log as it is now, earlier proposals included. */
    recordProposalProgress: assign(({ event }) => {
      invariant(event.type === 'controller.proposed', 'recordProposalProgress on another event');
      return { raft: event.raft };
    }),
    logProposalFailure: ({ context, event }) => {
      if (event.type !== 'controller.proposed') return;
      context.ports.logger.warn({ firstOffset: event.firstOffset, result: event.result }, 'controller: a proposal failed; re-syncing from the log');
    },
  },
});

/** The write path on the uncommitted image (pure but for the Random port the handler may draw topic ids from). */
function runCommand(context: ControllerContext, command: WriteCommand): Pick<ControllerContext, 'images' | 'nextOffset' | 'liveness' | 'outbox'> {
  const { images, nextOffset, liveness } = context;
  if (isPendingFull(images)) {
    const error = new RaftlineError('THROTTLING_QUOTA_EXCEEDED', `the controller has ${images.pending.length} uncommitted batches; retry`);
    return { images, nextOffset, liveness, outbox: { ...emptyOutbox, fail: [{ reply: command.reply(error), error }] } };
  }
  const ctx: CommandContext = { nextOffset, random: context.ports.random, settings: context.ports.settings };
  const outcome = command.run(images.uncommitted, ctx);
  const reply = command.reply(outcome);
  const records = isCommandError(outcome) ? [] : outcome.records;
  let nextLiveness = liveness;
  if (!isCommandError(outcome) && command.session !== undefined) {
    const { brokerId, metadataOffset, fresh } = command.session;
    if (fresh) nextLiveness = forgetBroker(nextLiveness, brokerId);
    nextLiveness = recordHeartbeat(nextLiveness, brokerId, context.ports.clock.now(), context.ports.sessionTimeoutMs, metadataOffset);
  }
  // Even an error or a read-only answer waits behind earlier uncommitted batches: it was computed from their effects.
  const proposed = propose(images, nextOffset, records, reply);
  return {
    images: proposed.state,
    nextOffset: nextOffset + records.length,
    liveness: nextLiveness,
    outbox: { deliver: proposed.readyNow, fail: [], propose: records.length === 0 ? null : { records, firstOffset: nextOffset } },
  };
}

export const controllerMachine = controllerSetup.createMachine({
  id: 'quorum-controller',
  context: ({ input }) => ({
    ports: input.ports,
    leaderEpoch: 0,
    leaderId: null,
    raft: input.raft,
    committed: input.committed,
    images: startImages<Reply>(input.committed),
    nextOffset: 0,
    liveness: emptyLiveness,
    activation: 0,
    outbox: emptyOutbox,
  }),
  initial: 'inactive',
  states: {
    inactive: {
      on: {
        'raft.leadership': [
          { guard: 'isSelfLeader', target: 'activating', actions: ['recordLeadership', 'followCommitted'] },
          { actions: ['recordLeadership', 'followCommitted'] },
        ],
        'raft.committed': { actions: 'followCommitted' },
        'controller.write': { actions: ['rejectWrite', 'flushOutbox', 'clearOutbox'] },
      },
    },
    activating: {
      always: { guard: 'isCaughtUpLeader', target: 'active' },
      on: {
        'raft.leadership': [
          { guard: 'isOtherLeader', target: 'inactive', actions: ['recordLeadership', 'followCommitted'] },
          { actions: ['recordLeadership', 'followCommitted'] },
        ],
        'raft.committed': { actions: 'followCommitted' },
        'controller.write': { actions: ['rejectWriteWhileActivating', 'flushOutbox', 'clearOutbox'] },
      },
    },
    active: {
      entry: 'activate',
      initial: 'serving',
      states: {
        serving: {
          after: {
            sessionCheck: { target: 'serving', reenter: true, actions: ['fenceExpired', 'flushOutbox', 'clearOutbox'] },
          },
        },
      },
      on: {
        'raft.leadership': [
          { guard: 'isOtherLeader', target: 'inactive', actions: ['recordLeadership', 'abandonPending', 'followCommitted', 'flushOutbox', 'clearOutbox'] },
          // A newer epoch led by this node again (it resigned and won): the old epoch's uncommitted writes may be gone.
          { guard: ({ context, event }) => event.type === 'raft.leadership' && event.epoch !== context.leaderEpoch, target: 'activating', actions: ['recordLeadership', 'abandonPending', 'followCommitted', 'flushOutbox', 'clearOutbox'] },
          { actions: 'recordLeadership' },
        ],
        'raft.committed': { actions: ['commitPending', 'flushOutbox', 'clearOutbox'] },
        'controller.write': { actions: ['runWrite', 'flushOutbox', 'clearOutbox'] },
        'controller.proposed': { guard: 'isFailedProposal', target: 'activating', actions: ['logProposalFailure', 'recordProposalProgress', 'abandonPending', 'flushOutbox', 'clearOutbox'] },
      },
    },
  },
});

export type ControllerMachine = typeof controllerMachine;
