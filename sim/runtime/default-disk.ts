// The disk the runner gives each simulated node: the storage engine's SimDisk (page-cache model; crash() keeps,
// loses, tears or corrupts unsynced writes), driven by the node's own fault stream.
import { SimDisk } from './disk.js';
import type { DiskFactory } from './disk-port.js';

export const defaultDiskFactory: DiskFactory = (options) => new SimDisk(options);
