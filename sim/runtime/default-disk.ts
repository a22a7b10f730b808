// The disk the runner gives each simulated node: the storage engine's SimDisk (page-cache model; crash() keeps,
// loses, tears or corrupts unsynced writes), driven by the node's own fault stream.
import { SimDisk } from './disk.js';
import type { DiskFactory } from './disk-port.js';

export const defaultDiskFactory: DiskFactory = (options) => new SimDisk(options);

// The disk the runner gives each node: the storage engine's SimDisk (in-memory files whose unsynced writes meet the
// crash model at a crash), one per node, driven by the node's own disk-fault random stream.
import type { DiskFactory, SimDiskLike } from './disk-port.js';
import { SimDisk } from './disk.js';

export const defaultDiskFactory: DiskFactory = (options): SimDiskLike => new SimDisk({ random: options.random, name: options.name });
