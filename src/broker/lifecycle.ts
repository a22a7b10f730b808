// The broker's side of its lifecycle with the active controller (KIP-631): register (with this process's incarnation
// id, rack and endpoints), heartbeat every broker.heartbeat.interval.ms reporting how far its metadata image has
// replayed, follow NOT_CONTROLLER to the new controller, and on stop ask for controlled shutdown until the controller
// says it may go. Keeps: at most one request to the controller in flight; a heartbeat always carries the epoch of
// the registration it follows; a stale registration is replaced by a new one, never patched.
import { assign, createActor, fromPromise, setup, type Actor } from 'xstate';
import {
  brokerLifecycleRequestTimeoutMsDefault,
  brokerLifecycleRetryMsDefault,
  controllerHeartbeatIntervalMsDefault,
} from '../limits.js';
import type { Clock } from '../runtime/clock.js';
import { silentLogger, type Logger } from '../runtime/logger.js';
import type { BrokerHeartbeatResponse, ControllerChannel, Endpoint } from '../wire/controller.js';
import { RaftlineError } from '../wire/errors.js';
import { createControllerClient, isControllerRedirect, type ControllerClient } from './controller-client.js';

export type { ControllerChannel } from '../wire/controller.js';

export interface BrokerLifecycleOptions {
  brokerId: number;
  clusterId: string;
  /** A fresh id for this process start (KIP-631): tells a restart from two processes claiming one broker id. */
  incarnationId: string;
  rack: string | null;
  endpoints: Endpoint[];
  /** The metadata quorum's voters: where to look for the controller when no hint is known. */
  voters: readonly number[];
  /** The epoch of the previous registration if this broker last stopped cleanly, else -1 (KIP-966). */
  previousBrokerEpoch?: number;
  heartbeatIntervalMs?: number;
  retryMs?: number;
  requestTimeoutMs?: number;
  clock: Clock;
  logger?: Logger;
  channel: ControllerChannel;
  /** The offset of the last record this broker's own metadata image has replayed (MetadataFollower.image().offset). */
  metadataOffset(): number;
  /** The active controller as this node's Raft observer knows it (MetadataFollower.leadership().leaderId). */
  controllerHint(): number | null;
  /**
   * The node's one controller-finding client, shared with its other controller calls (AlterPartition, producer ids),
   * so whatever one of them learns about where the controller is serves all. Built from channel, voters and
   * controllerHint when not given.
   */
  controller?: ControllerClient;
}

export interface LifecycleContext {
  readonly options: BrokerLifecycleOptions;
  readonly controller: ControllerClient;
  /** The node the next request goes to (the controller client's target after the last answer). */
  target: number;
  brokerEpoch: number;
  fenced: boolean;
  lastHeartbeat: BrokerHeartbeatResponse | null;
  lastError: string | null;
}

export type LifecycleEvent = { type: 'broker.stop' };


/** Errors meaning the registration this broker holds is gone (the controller forgot it or a newer one replaced it). */
function isLostRegistration(error: unknown): boolean {
  return error instanceof RaftlineError && (error.code === 'STALE_BROKER_EPOCH' || error.code === 'BROKER_ID_NOT_REGISTERED');
}

/** Errors no retry can fix: the broker is misconfigured for this cluster, and the host should exit. */
function isFatal(error: unknown): boolean {
  return error instanceof RaftlineError && (error.code === 'INCONSISTENT_CLUSTER_ID' || error.code === 'INVALID_REQUEST');
}

/**
 * The previousBrokerEpoch a registration carries (KIP-966). The first one of this process sends what the clean-shutdown
 * marker said (-1 after an unclean stop); a re-registration by the same process (its registration was lost) has lost
 * nothing, so it vouches for the epoch it held.
 */
function previousEpochOf(ctx: LifecycleContext): number {
  return ctx.brokerEpoch >= 0 ? ctx.brokerEpoch : (ctx.options.previousBrokerEpoch ?? -1);
}

function describe(error: unknown): string {
  return error instanceof RaftlineError ? `${error.code}: ${error.message}` : String(error);
}

const lifecycleSetup = setup({
  types: {
    context: {} as LifecycleContext,
    events: {} as LifecycleEvent,
    input: {} as { options: BrokerLifecycleOptions; controller: ControllerClient },
  },
  delays: {
    heartbeatInterval: ({ context }) => context.options.heartbeatIntervalMs ?? controllerHeartbeatIntervalMsDefault,
    retry: ({ context }) => context.options.retryMs ?? brokerLifecycleRetryMsDefault,
  },
  actors: {
    register: fromPromise(async ({ input }: { input: { ctx: LifecycleContext } }) => {
      const o = input.ctx.options;
      return input.ctx.controller.send('controller.register-broker', {
        brokerId: o.brokerId,
        clusterId: o.clusterId,
        incarnationId: o.incarnationId,
        rack: o.rack,
        endpoints: o.endpoints,
        previousBrokerEpoch: previousEpochOf(input.ctx),
      }, o.requestTimeoutMs ?? brokerLifecycleRequestTimeoutMsDefault);
    }),
    heartbeat: fromPromise(async ({ input }: { input: { ctx: LifecycleContext; wantShutDown: boolean } }) => {
      const o = input.ctx.options;
      return input.ctx.controller.send('controller.broker-heartbeat', {
        brokerId: o.brokerId,
        brokerEpoch: input.ctx.brokerEpoch,
        currentMetadataOffset: o.metadataOffset(),
        wantFence: false,
        wantShutDown: input.wantShutDown,
      }, o.requestTimeoutMs ?? brokerLifecycleRequestTimeoutMsDefault);
    }),
  },
  guards: {
    // The controller client already moved its target (the named controller, the hint, or the next voter); a busy
    // controller's THROTTLING_QUOTA_EXCEEDED is not a redirect and is retried at the same node.
    isRedirect: ({ event }) => isControllerRedirect((event as { error?: unknown }).error),
    isLostRegistration: ({ event }) => isLostRegistration((event as { error?: unknown }).error),
    isFatal: ({ event }) => isFatal((event as { error?: unknown }).error),
    mayShutDown: ({ event }) => (event as { output?: BrokerHeartbeatResponse }).output?.shouldShutDown === true,
  },
  actions: {
    redirect: assign(({ context, event }) => {
      const error = (event as { error?: unknown }).error;
      const target = context.controller.target();
      context.options.logger?.debug({ from: context.target, to: target, error: describe(error) }, 'broker lifecycle: looking for the controller elsewhere');
      return { target, lastError: describe(error) };
    }),
    recordFailure: assign(({ context, event }) => {
      const error = (event as { error?: unknown }).error;
      (context.options.logger ?? silentLogger).warn({ error: describe(error) }, 'broker lifecycle: request failed');
      return { lastError: describe(error) };
    }),
    recordRegistration: assign(({ context, event }) => {
      const output = (event as { output?: { brokerEpoch: number } }).output;
      if (output === undefined) throw new Error('registration done without an output');
      const target = context.controller.target();
      (context.options.logger ?? silentLogger).info(
        { brokerEpoch: output.brokerEpoch, previousBrokerEpoch: previousEpochOf(context), controller: target },
        'broker lifecycle: registered',
      );
      return { brokerEpoch: output.brokerEpoch, fenced: true, lastError: null, target };
    }),
    recordHeartbeat: assign(({ context, event }) => {
      const output = (event as { output?: BrokerHeartbeatResponse }).output;
      if (output === undefined) throw new Error('heartbeat done without an output');
      return { lastHeartbeat: output, fenced: output.isFenced, lastError: null, target: context.controller.target() };
    }),
  },
});

export const brokerLifecycleMachine = lifecycleSetup.createMachine({
  id: 'broker-lifecycle',
  context: ({ input }) => ({
    options: input.options,
    controller: input.controller,
    target: input.controller.target(),
    brokerEpoch: -1,
    fenced: true,
    lastHeartbeat: null,
    lastError: null,
  }),
  initial: 'registering',
  states: {
    registering: {
      initial: 'sending',
      on: { 'broker.stop': { target: 'stopped' } },
      states: {
        sending: {
          invoke: {
            src: 'register',
            input: ({ context }) => ({ ctx: context }),
            onDone: { target: '#broker-lifecycle.running', actions: 'recordRegistration' },
            onError: [
              { guard: 'isFatal', target: '#broker-lifecycle.failed', actions: 'recordFailure' },
              { guard: 'isRedirect', target: 'backingOff', actions: 'redirect' },
              { target: 'backingOff', actions: 'recordFailure' },
            ],
          },
        },
        backingOff: { after: { retry: 'sending' } },
      },
    },
    running: {
      initial: 'sending',
      on: { 'broker.stop': { target: 'shuttingDown' } },
      states: {
        waiting: { after: { heartbeatInterval: 'sending' } },
        sending: {
          invoke: {
            src: 'heartbeat',
            input: ({ context }) => ({ ctx: context, wantShutDown: false }),
            onDone: { target: 'waiting', actions: 'recordHeartbeat' },
            onError: [
              { guard: 'isLostRegistration', target: '#broker-lifecycle.registering', actions: 'recordFailure' },
              // A new controller may be elected any moment: try the next candidate soon, not a whole interval later.
              { guard: 'isRedirect', target: 'backingOff', actions: 'redirect' },
              { target: 'waiting', actions: 'recordFailure' },
            ],
          },
        },
        backingOff: { after: { retry: 'sending' } },
      },
    },
    shuttingDown: {
      initial: 'sending',
      states: {
        sending: {
          invoke: {
            src: 'heartbeat',
            input: ({ context }) => ({ ctx: context, wantShutDown: true }),
            onDone: [
              { guard: 'mayShutDown', target: '#broker-lifecycle.stopped', actions: 'recordHeartbeat' },
              { target: 'waiting', actions: 'recordHeartbeat' },
            ],
            onError: [
              { guard: 'isLostRegistration', target: '#broker-lifecycle.stopped', actions: 'recordFailure' },
              { guard: 'isRedirect', target: 'waiting', actions: 'redirect' },
              { target: 'waiting', actions: 'recordFailure' },
            ],
          },
        },
        waiting: { after: { retry: 'sending' } },
      },
    },
    stopped: { type: 'final' },
    /** The controller refused this broker for good (wrong cluster id, malformed registration): see lastError. */
    failed: { type: 'final' },
  },
});

export interface BrokerLifecycle {
  readonly actor: Actor<typeof brokerLifecycleMachine>;
  /** Controlled shutdown: resolves once the controller let the broker go (or the lifecycle stopped otherwise). */
  shutdown(): Promise<void>;
  /** Stops at once without telling the controller (a crash, as far as the cluster can tell). */
  halt(): void;
  status(): { phase: string; brokerEpoch: number; fenced: boolean; controller: number; lastError: string | null };
}

/** Creates and starts the broker's lifecycle; start it once the broker's metadata follower is listening. */
export function createBrokerLifecycle(options: BrokerLifecycleOptions): BrokerLifecycle {
  const logger = (options.logger ?? silentLogger).child({ actor: `broker-lifecycle-${options.brokerId}` });
  const controller =
    options.controller ?? createControllerClient({ channel: options.channel, voters: options.voters, hint: options.controllerHint, logger });
  const actor = createActor(brokerLifecycleMachine, { id: `broker-lifecycle-${options.brokerId}`, clock: options.clock, input: { options: { ...options, logger }, controller } });
  actor.start();
  return {
    actor,
    shutdown: () =>
      new Promise<void>((resolve) => {
        const done = (): boolean => actor.getSnapshot().status !== 'active';
        if (done()) return resolve();
        const sub = actor.subscribe({
          next: () => {
            if (!done()) return;
            sub.unsubscribe();
            resolve();
          },
          complete: () => resolve(),
        });
        actor.send({ type: 'broker.stop' });
      }),
    halt: () => actor.stop(),
    status: () => {
      const s = actor.getSnapshot();
      const phase = typeof s.value === 'string' ? s.value : Object.keys(s.value)[0] ?? 'unknown';
      return { phase, brokerEpoch: s.context.brokerEpoch, fenced: s.context.fenced, controller: s.context.target, lastError: s.context.lastError };
    },
  };
}
