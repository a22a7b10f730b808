// What the simulator needs from a simulated disk: the Disk port plus the fault hooks agreed with the storage
// engineer (SimDisk in sim/runtime/disk.ts implements exactly this). The simulator depends on this shape only, so
// the disk model can evolve without touching the scheduler.
import type { Disk } from '../../src/runtime/disk.js';
import type { Random } from '../../src/runtime/random.js';

/** Shares of unsynced writes that a crash keeps whole, loses, tears (keeps a prefix of) or corrupts. */
export interface CrashModel {
  keep: number;
  lose: number;
  tear: number;
  corrupt: number;
}

export interface DiskFault {
  kind: 'eio' | 'enospc';
  /** Only paths starting with this prefix fail (default: every path). */
  pathPrefix?: string;
  /** Which operations fail (default 'any'). */
  op?: 'write' | 'read' | 'sync' | 'any';
  /** How many operations fail before the fault clears (default 1). */
  count?: number;
}

export interface SimDiskLike extends Disk {
  /** Power loss: every write not covered by a completed sync is kept, lost, torn or corrupted per the crash model. */
  crash(): unknown;
  setCrashModel(model: CrashModel): void;
  injectFault(fault: DiskFault): void;
  /** Flips one bit of a file's durable bytes (silent corruption); a random byte when no offset is given. */
  flipBit(path: string, byteOffset?: number): unknown;
  usedBytes(): number;
}

export type DiskFactory = (options: { random: Random; name: string }) => SimDiskLike;
