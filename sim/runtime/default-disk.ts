// The disk the runner gives each node: the storage engine's SimDisk (in-memory files whose unsynced writes meet the
// crash model at a crash), one per node, driven by the node's own disk-fault random stream.
import type { DiskFactory, SimDiskLike } from './disk-port.js';
import { SimDisk } from './disk.js';

export const defaultDiskFactory: DiskFactory = (options): SimDiskLike => new SimDisk({ random: options.random, name: options.name });
