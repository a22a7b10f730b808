// Compares a run's trace in the two wire modes (in-process copies vs encoded, validated bytes): apart from frame
// sizes (estimated in-process, exact as bytes) the traces must be the same line for line. Invariant it checks: handing
// messages across in process changes nothing a node can observe.
import { runSchedule, type RunResult } from './runner.js';
import type { Schedule } from './schedule.js';

export interface WireModesComparison {
  inProcess: RunResult;
  bytes: RunResult;
  /** The first line that differs once sizes are set aside (null: none), with its index. */
  firstDifference: { index: number; inProcess: string | undefined; bytes: string | undefined } | null;
}

/** Frame sizes (`bytes`) are the only field allowed to differ: arrival times do not depend on them. */
export function withoutFrameSizes(line: string): string {
  return line.replace(/,"bytes":\d+/g, '');
}

export async function compareWireModes(schedule: Schedule, seed: number): Promise<WireModesComparison> {
  const a: string[] = [];
  const b: string[] = [];
  const inProcess = await runSchedule({ schedule, seed, wire: 'in-process', traceSink: (l) => a.push(withoutFrameSizes(l)) });
  const bytes = await runSchedule({ schedule, seed, wire: 'bytes', traceSink: (l) => b.push(withoutFrameSizes(l)) });
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return { inProcess, bytes, firstDifference: { index: i, inProcess: a[i], bytes: b[i] } };
  }
  return { inProcess, bytes, firstDifference: null };
}
