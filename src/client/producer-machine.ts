// The Producer's lifecycle as an xstate actor (DESIGN.md): `connecting` (metadata and, with idempotence, a producer
// id) → `ready` → `closing` (flush what is queued) → `closed`. A failed bootstrap backs off and tries again; a
// producer id the broker no longer accepts sends it back to `connecting` for a fresh one; a fatal answer
// (PRODUCER_FENCED) parks it in `failed`. Invariant: the sender sends only while the actor is in `ready` or
// `closing`, so no batch leaves without the producer id it must carry.
import { assign, fromPromise, setup } from 'xstate';

export interface ProducerHost {
  /** Learns the cluster and, with idempotence, obtains a producer id; rejects to be retried after a back-off. */
  bootstrap(): Promise<void>;
  /** Flushes queued records; resolves when all are done (or failed) or the close timeout passed. */
  drain(): Promise<void>;
  /** The state changed: the sender looks again at what it may send. */
  onStateChange(state: 'connecting' | 'ready' | 'closing' | 'closed' | 'failed'): void;
  /** Back-off before bootstrap attempt `attempt` (1-based). */
  backoffMs(attempt: number): number;
}

export type ProducerEvent = { type: 'producer.reinit' } | { type: 'producer.close' } | { type: 'producer.fatal'; error: Error };

interface ProducerContext {
  host: ProducerHost;
  attempts: number;
  fatal: Error | undefined;
}

export const producerMachine = setup({
  types: {
    context: {} as ProducerContext,
    events: {} as ProducerEvent,
    input: {} as { host: ProducerHost },
  },
  actors: {
    bootstrap: fromPromise<void, { host: ProducerHost }>(({ input }) => input.host.bootstrap()),
    drain: fromPromise<void, { host: ProducerHost }>(({ input }) => input.host.drain()),
  },
  actions: {
    notify: ({ context }, state: 'connecting' | 'ready' | 'closing' | 'closed' | 'failed') => context.host.onStateChange(state),
    countAttempt: assign({ attempts: ({ context }) => context.attempts + 1 }),
    resetAttempts: assign({ attempts: 0 }),
    recordFatal: assign({ fatal: ({ event }) => (event.type === 'producer.fatal' ? event.error : undefined) }),
  },
  delays: {
    bootstrapBackoff: ({ context }) => context.host.backoffMs(context.attempts),
  },
}).createMachine({
  id: 'client.producer',
  context: ({ input }) => ({ host: input.host, attempts: 0, fatal: undefined }),
  initial: 'connecting',
  on: {
    'producer.fatal': { target: '.failed', actions: 'recordFatal' },
  },
  states: {
    connecting: {
      entry: [{ type: 'notify', params: 'connecting' }, 'countAttempt'],
      invoke: {
        src: 'bootstrap',
        input: ({ context }) => ({ host: context.host }),
        onDone: { target: 'ready', actions: 'resetAttempts' },
        onError: { target: 'backingOff' },
      },
      on: { 'producer.close': 'closing' },
    },
    backingOff: {
      after: { bootstrapBackoff: 'connecting' },
      on: { 'producer.close': 'closing' },
    },
    ready: {
      entry: { type: 'notify', params: 'ready' },
      on: {
        'producer.reinit': 'connecting',
        'producer.close': 'closing',
      },
    },
    closing: {
      entry: { type: 'notify', params: 'closing' },
      invoke: {
        src: 'drain',
        input: ({ context }) => ({ host: context.host }),
        onDone: 'closed',
        onError: 'closed',
      },
      on: { 'producer.fatal': { actions: 'recordFatal' } },
    },
    failed: {
      entry: { type: 'notify', params: 'failed' },
      on: { 'producer.close': 'closed' },
    },
    closed: {
      type: 'final',
      entry: { type: 'notify', params: 'closed' },
    },
  },
});
