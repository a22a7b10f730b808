// glibc's malloc thresholds for a process that streams large buffers: a broker allocates a fresh buffer of up to a
// MiB for each log read it serves (and for each large frame it receives) and frees it soon after. By default glibc
// raises its mmap threshold as such blocks are freed (so they come from the heap) and gives memory back to the kernel
// whenever more than twice that threshold lies free at the top of the heap. V8 frees the buffers in bulk after a
// scavenge, so the top of the heap is often free, is given back, and every 4 KiB page of the next buffers is faulted
// in and zeroed again: up to a few thousand faults per 256 MiB read back, and more time than the copy out of the page
// cache itself in the reads that take them (docs/storage.md, "Reads and glibc's heap").
//
// Fixing both thresholds stops that: blocks below the mmap threshold always come from the heap, and freed memory is
// kept for reuse until more than the trim threshold of it is free. The cost is that the process may keep up to the
// trim threshold of freed memory resident.
import { libcFunction } from './libc.js';

/** mallopt's parameter numbers (malloc.h). */
const mTrimThreshold = -1;
const mMmapThreshold = -3;

/** The largest mmap threshold glibc accepts on a 64-bit system (HEAP_MAX_SIZE / 2): larger blocks are mmapped. */
export const mallocMmapThresholdBytes = 32 * 1024 * 1024;

type Mallopt = (param: number, value: number) => number;

let mallopt: Mallopt | null | undefined;

export type MallocTuning =
  | { readonly applied: true; readonly trimThresholdBytes: number; readonly mmapThresholdBytes: number }
  | { readonly applied: false; readonly reason: string };

/**
 * Fixes glibc's trim threshold at `trimThresholdBytes` and its mmap threshold at 32 MiB, for the whole process and
 * every thread's arena. 0 leaves glibc's own adaptive thresholds. Says whether it was done and, if not, why.
 */
export function tuneMalloc(trimThresholdBytes: number): MallocTuning {
  if (!Number.isSafeInteger(trimThresholdBytes) || trimThresholdBytes < 0 || trimThresholdBytes > 2 ** 31 - 1) {
    return { applied: false, reason: `trim threshold ${trimThresholdBytes} is not a byte count from 0 to 2147483647` };
  }
  if (trimThresholdBytes === 0) return { applied: false, reason: 'off (0): glibc keeps its adaptive thresholds' };
  if (mallopt === undefined) mallopt = libcFunction<Mallopt>('int mallopt(int param, int value)') ?? null;
  if (mallopt === null) return { applied: false, reason: 'mallopt is not reachable here (not glibc on Linux, or koffi is not installed)' };
  // The mmap threshold first: setting either one turns glibc's adaptation off, and the trim threshold alone would
  // leave every block over 128 KiB to a fresh mmap, faulted in whole on each use.
  if (mallopt(mMmapThreshold, mallocMmapThresholdBytes) !== 1) return { applied: false, reason: 'glibc refused the mmap threshold' };
  if (mallopt(mTrimThreshold, trimThresholdBytes) !== 1) return { applied: false, reason: 'glibc refused the trim threshold' };
  return { applied: true, trimThresholdBytes, mmapThresholdBytes: mallocMmapThresholdBytes };
}
