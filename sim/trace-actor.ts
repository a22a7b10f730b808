// Traces an xstate actor's state changes as `log.info` events with its actor id, so a system's state machines show
// up in the trace (and its hash) without each system writing the same subscription.
import type { AnyActorRef } from 'xstate';
import type { Logger } from '../src/runtime/logger.js';

/** Logs `{ state }` each time the actor's state value changes (not on every context update). */
export function traceActorStates(actor: AnyActorRef, log: Logger, summary?: (snapshot: unknown) => Record<string, unknown>): void {
  let last = '';
  actor.subscribe((snapshot: { value?: unknown }) => {
    const state = JSON.stringify(snapshot.value);
    if (state === last) return;
    last = state;
    log.info({ state: snapshot.value, ...summary?.(snapshot) }, 'state');
  });
}
