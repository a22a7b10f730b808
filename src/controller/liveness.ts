// Broker session tracking for the active controller (KIP-631): each heartbeat pushes a broker's session deadline
// out by broker.session.timeout.ms; an unfenced broker whose deadline has passed is due to be fenced; a fenced broker
// is caught up, and may be unfenced, once its metadata offset reaches its registration record. Times are passed in;
// nothing here reads a clock. This is soft state: it is not in the metadata log, and a new active controller starts
// it afresh with resetSessions (every broker gets a full session, as Kafka does on failover).
import { invariant } from './invariant.js';
import type { MetadataImage } from './image.js';

export interface BrokerSession {
  /** The broker is fenced if no heartbeat arrives by this time. */
  readonly deadlineMs: number;
  /** The highest metadata offset the broker reported having replayed (its last caught-up offset). */
  readonly lastMetadataOffset: number;
}

export interface LivenessState {
  readonly sessions: ReadonlyMap<number, BrokerSession>;
}

export const emptyLiveness: LivenessState = Object.freeze({ sessions: new Map() });

/** Records a heartbeat (or a registration) from `brokerId` at `nowMs`. */
export function recordHeartbeat(state: LivenessState, brokerId: number, nowMs: number, sessionTimeoutMs: number, metadataOffset: number): LivenessState {
  invariant(sessionTimeoutMs > 0, 'the session timeout is positive');
  const old = state.sessions.get(brokerId);
  const sessions = new Map(state.sessions);
  sessions.set(brokerId, Object.freeze({
    deadlineMs: Math.max(old?.deadlineMs ?? -Infinity, nowMs + sessionTimeoutMs),
    // A broker's replayed offset only grows; a lower report (a reordered heartbeat) does not move it back.
    lastMetadataOffset: Math.max(old?.lastMetadataOffset ?? -1, metadataOffset),
  }));
  return { sessions };
}

/** Forgets a broker's session (after it re-registers with a new incarnation, the old session is meaningless). */
export function forgetBroker(state: LivenessState, brokerId: number): LivenessState {
  if (!state.sessions.has(brokerId)) return state;
  const sessions = new Map(state.sessions);
  sessions.delete(brokerId);
  return { sessions };
}

/** A fresh state in which every registered broker has a full session from `nowMs` (a newly active controller). */
export function resetSessions(image: MetadataImage, nowMs: number, sessionTimeoutMs: number): LivenessState {
  const sessions = new Map<number, BrokerSession>();
  for (const b of image.brokers.values()) sessions.set(b.brokerId, Object.freeze({ deadlineMs: nowMs + sessionTimeoutMs, lastMetadataOffset: -1 }));
  return { sessions };
}

/** Unfenced brokers whose session expired at `nowMs` (no session at all counts as expired), sorted by id. */
export function expiredBrokers(state: LivenessState, image: MetadataImage, nowMs: number): number[] {
  return [...image.brokers.values()]
    .filter((b) => !b.fenced && (state.sessions.get(b.brokerId)?.deadlineMs ?? -Infinity) < nowMs)
    .map((b) => b.brokerId)
    .sort((a, b) => a - b);
}

/** The earliest session deadline among unfenced brokers: when the controller should next check for expiries. */
export function nextExpiryMs(state: LivenessState, image: MetadataImage): number | undefined {
  let next: number | undefined;
  for (const b of image.brokers.values()) {
    if (b.fenced) continue;
    const d = state.sessions.get(b.brokerId)?.deadlineMs ?? -Infinity;
    if (next === undefined || d < next) next = d;
  }
  return next;
}

/**
 * A broker has caught up with the metadata log once it has replayed its own registration record (Kafka's rule):
 * from then on it knows every partition it hosts as of its registration, and may be unfenced.
 */
export function isCaughtUp(image: MetadataImage, brokerId: number, metadataOffset: number): boolean {
  const b = image.brokers.get(brokerId);
  return b !== undefined && metadataOffset >= b.brokerEpoch;
}
