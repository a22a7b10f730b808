// The broker process's garbage-collector setting (gc.incremental.marking), applied once by the entry point before the
// node starts. Keeps: only the real process is tuned (nodes started in-process by specs and the simulator are not).
import v8 from 'node:v8';

/**
 * With `incrementalMarking` false, V8 no longer starts incremental major GCs on its own: the old generation is then
 * collected (atomically) only when it reaches its allocation limit. A broker's JS heap is small (≈ 16 MiB live) while
 * hundreds of MB of frames per second pass through it as external memory, and V8 kept starting a mark-compact of that
 * unchanged heap every 5-10 MB of traffic, each reclaiming ≈ 1 MB — a third of the brokers' CPU on the acks=all path
 * (docs/performance.md, fourth round). Scavenges still collect the short-lived frames, so memory stays bounded.
 */
export function applyGcTuning(options: { incrementalMarking: boolean }): void {
  // V8 reads this flag whenever it considers starting a marking cycle, so changing it at run time takes effect for
  // every cycle after this call; a cycle already running is finished as usual.
  v8.setFlagsFromString(options.incrementalMarking ? '--incremental-marking' : '--no-incremental-marking');
}
