// The generic checkers every run gets, whatever the system: no touch of the real world, no uncaught error in node
// code, no unbounded queue, and network integrity (nothing delivered that was not sent, nothing delivered more
// often than it was sent plus duplicated). Systems add their own through SimSystem.checkers.
import { connectionBufferedBytesMax, connectionsMax, simTimersPendingMax } from '../src/limits.js';
import type { Checker } from './system.js';

/** The guards record each real timer / fs / clock access as it happens; this makes the verdict explicit at the end. */
export const noRealWorldChecker: Checker = {
  name: 'no-real-world',
  atEnd(sim, _phase, fail) {
    if (sim.counters.realWorldAccess > 0) fail(`${sim.counters.realWorldAccess} real timer or file-system calls during the run`);
  },
};

/** Bounds on what the simulator holds for the system: pending timers, open connections, bytes in flight. */
export function boundedQueuesChecker(limits = { timersMax: simTimersPendingMax, connectionsMax: connectionsMax * 2, inflightBytesMax: connectionBufferedBytesMax * 2 }): Checker {
  return {
    name: 'bounded-queues',
    onStep(sim, fail) {
      const timers = sim.clock.pending();
      if (timers > limits.timersMax) fail(`${timers} timers pending (max ${limits.timersMax})`);
      const connections = sim.network.liveConnections();
      if (connections > limits.connectionsMax) fail(`${connections} connection ends open (max ${limits.connectionsMax})`);
    },
    atEnd(sim, _phase, fail) {
      const inflight = sim.network.maxInflightBytes();
      if (inflight > limits.inflightBytesMax) fail(`${inflight} bytes in flight on one connection (max ${limits.inflightBytesMax})`);
    },
  };
}

/** Every delivery matches an earlier send (or its duplicate) of the same frame on the same connection direction. */
export function networkIntegrityChecker(): Checker {
  // key: conn/senderSide/seq -> deliveries still allowed. Entries leave when used up, so the map holds only frames
  // in flight (or lost in flight: those are removed when their drop is traced).
  const allowed = new Map<string, number>();
  const other = (side: unknown): string => (side === 'client' ? 'server' : 'client');
  return {
    name: 'network-integrity',
    onEvent(e, fail) {
      switch (e.ev) {
        case 'net.send':
          allowed.set(`${String(e.data?.['conn'])}/${String(e.data?.['side'])}/${String(e.data?.['seq'])}`, 1);
          return;
        case 'net.dup': {
          const key = `${String(e.data?.['conn'])}/${String(e.data?.['side'])}/${String(e.data?.['seq'])}`;
          allowed.set(key, (allowed.get(key) ?? 0) + 1);
          return;
        }
        case 'net.deliver':
        case 'net.drop': {
          // Drops at send time ('partition', 'loss') are traced by the sender for frames never put in flight.
          if (e.ev === 'net.drop' && (e.data?.['why'] === 'partition' || e.data?.['why'] === 'loss')) return;
          const key = `${String(e.data?.['conn'])}/${other(e.data?.['side'])}/${String(e.data?.['seq'])}`;
          const left = allowed.get(key);
          if (left === undefined) {
            if (e.ev === 'net.deliver') fail(`frame ${key} delivered but never sent (or delivered too often)`);
            return;
          }
          if (left <= 1) allowed.delete(key);
          else allowed.set(key, left - 1);
          return;
        }
      }
    },
  };
}

export function genericCheckers(): Checker[] {
  return [noRealWorldChecker, boundedQueuesChecker(), networkIntegrityChecker()];
}
