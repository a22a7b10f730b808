// Swarm testing: derives a random failure schedule from a seed and a base schedule (cluster, workload, phases).
// The seed picks which fault kinds are switched on and how often each strikes, so different seeds explore different
// mixes rather than one uniform blend. Invariant: the output is a pure function of (base, seed) and always parses.
import { simFaultsMax } from '../src/limits.js';
import { createSeededRandom } from '../src/runtime/seeded-random.js';
import { parseSchedule, type Fault, type Schedule } from './schedule.js';

/** Fault kinds the generator may use; disk kinds only matter for systems that keep state on disk. */
export const swarmKinds = ['crash', 'partition', 'clog', 'pause', 'clock-skew', 'link', 'lose-unsynced'] as const;
export type SwarmKind = (typeof swarmKinds)[number];

export function generateSchedule(base: Schedule, seed: number, kinds: readonly SwarmKind[] = swarmKinds): Schedule {
  const r = createSeededRandom(`swarm/${seed}`);
  const ids = base.cluster.nodes.map((n) => n.id);
  const pick = <T>(xs: readonly T[]): T => xs[r.int(xs.length)]!;
  const subset = (): number[] => {
    const shuffled = [...ids];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = r.int(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    return shuffled.slice(0, 1 + r.int(Math.max(1, ids.length - 1)));
  };
  const safetyMs = base.phases.safetyMs;
  // Each enabled kind strikes at its own mean rate (faults per simulated second), from 0.1 to 2.
  const enabled = kinds.filter(() => r.next() < 0.6);
  const rates = new Map(enabled.map((k) => [k, 0.1 + r.next() * 1.9]));
  const faults: Fault[] = [];
  for (const kind of enabled) {
    const rate = rates.get(kind)!;
    let t = 0;
    for (;;) {
      t += Math.max(1, Math.round((-Math.log(1 - r.next()) / rate) * 1000));
      if (t >= safetyMs - 1 || faults.length >= simFaultsMax - 2) break;
      const node = pick(ids);
      const end = Math.min(safetyMs - 1, t + 100 + r.int(2000));
      switch (kind) {
        case 'crash':
          faults.push({ at: t, kind: 'crash', node }, { at: end, kind: 'restart', node });
          break;
        case 'lose-unsynced':
          faults.push({ at: t, kind: 'lose-unsynced', node }, { at: end, kind: 'restart', node });
          break;
        case 'partition': {
          const side = subset();
          const rest = ids.filter((id) => !side.includes(id));
          if (rest.length === 0) break;
          faults.push({ at: t, kind: 'partition', from: side, to: rest, oneWay: r.next() < 0.3 }, { at: end, kind: 'heal' });
          break;
        }
        case 'clog':
          faults.push({ at: t, kind: 'clog', from: subset(), to: subset(), durationMs: 50 + r.int(1500) });
          break;
        case 'pause':
          faults.push({ at: t, kind: 'pause', node, durationMs: 10 + r.int(1500) });
          break;
        case 'clock-skew':
          faults.push({ at: t, kind: 'clock-skew', node, skewMs: r.int(20_001) - 10_000 });
          break;
        case 'link':
          faults.push({
            at: t,
            kind: 'link',
            from: subset(),
            to: subset(),
            model: { loss: round(r.next() * 0.3), duplicate: round(r.next() * 0.1), reorder: round(r.next() * 0.2) },
          });
          break;
      }
    }
  }
  const network = {
    ...base.network,
    loss: round(r.next() < 0.5 ? 0 : r.next() * 0.1),
    duplicate: round(r.next() < 0.5 ? 0 : r.next() * 0.05),
    reorder: round(r.next() < 0.5 ? 0 : r.next() * 0.1),
  };
  // A base scenario's expected verdict says nothing about the random faults added here.
  const { expect: _expect, ...rest } = base;
  return parseSchedule({ ...rest, seed, network, faults });
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
