// Shrinks a failing schedule: removes faults (halves, then quarters, ... then one by one), shortens the workload,
// turns off background network imperfections and shortens the safety phase, keeping each change only if the run
// still fails with the same checker. Invariant: every schedule it returns was re-run and still fails the same way;
// it spends at most `runsMax` runs.
import { simShrinkRunsMax } from '../src/limits.js';
import { failureKind, runSchedule, type RunResult } from './runner.js';
import { parseSchedule, type Schedule } from './schedule.js';

export interface ShrinkResult {
  schedule: Schedule;
  result: RunResult;
  runs: number;
}

export async function shrinkSchedule(
  schedule: Schedule,
  seed: number,
  failing: RunResult,
  run: (s: Schedule) => Promise<RunResult> = (s) => runSchedule({ schedule: s, seed }),
  runsMax = simShrinkRunsMax,
): Promise<ShrinkResult> {
  const kind = failureKind(failing);
  if (kind === undefined) throw new Error('shrink: the run did not fail');
  let best = schedule;
  let bestResult = failing;
  let runs = 0;
  const tryCandidate = async (candidate: Schedule): Promise<boolean> => {
    if (runs >= runsMax) return false;
    runs++;
    const r = await run(candidate);
    if (!r.ok && failureKind(r) === kind) {
      best = candidate;
      bestResult = r;
      return true;
    }
    return false;
  };

  // 1. Faults: try dropping chunks, from big to single faults.
  for (let chunk = Math.max(1, best.faults.length >> 1); chunk >= 1 && runs < runsMax; chunk = chunk === 1 ? 0 : chunk >> 1) {
    for (let i = 0; i < best.faults.length && runs < runsMax; ) {
      const faults = [...best.faults.slice(0, i), ...best.faults.slice(i + chunk)];
      if (!(await tryCandidate({ ...best, faults }))) i += chunk;
    }
  }
  // 2. Workload: halve every count the system reads (numeric params, producers' messages).
  for (let again = true; again && runs < runsMax; ) {
    const params = Object.fromEntries(
      Object.entries(best.workload.params).map(([k, v]) => [k, k === 'rounds' && typeof v === 'number' && v > 1 ? Math.ceil(v / 2) : v]),
    );
    const producers = best.workload.producers.map((p) => ({ ...p, messages: p.messages > 1 ? Math.ceil(p.messages / 2) : p.messages }));
    const candidate = { ...best, workload: { ...best.workload, params, producers } };
    again = JSON.stringify(candidate.workload) !== JSON.stringify(best.workload) && (await tryCandidate(candidate));
  }
  // 3. Network: try a perfect link in place of each background imperfection (loss, duplication, reordering).
  for (const key of ['loss', 'duplicate', 'reorder'] as const) {
    if ((best.network[key] ?? 0) > 0) await tryCandidate({ ...best, network: { ...best.network, [key]: 0 } });
  }
  // 4. Safety phase: cut it down to just past the last fault.
  for (let again = true; again && runs < runsMax; ) {
    const lastAt = best.faults.reduce((m, f) => Math.max(m, f.at), 0);
    const safetyMs = Math.max(lastAt + 1, Math.floor(best.phases.safetyMs / 2));
    again = safetyMs < best.phases.safetyMs && (await tryCandidate(parseSchedule({ ...best, phases: { ...best.phases, safetyMs } })));
  }
  return { schedule: best, result: bestResult, runs };
}
