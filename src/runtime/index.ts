// The runtime seam (DESIGN.md): the ports through which everything above reaches the outside world. A node gets
// one Runtime; the broker's composition root builds it from src/runtime/real/, the simulator from sim/runtime/.
import type { Clock } from './clock.js';
import type { Disk } from './disk.js';
import type { Logger } from './logger.js';
import type { Network } from './network.js';
import type { Random } from './random.js';

export interface Runtime {
  readonly clock: Clock;
  readonly random: Random;
  readonly network: Network;
  readonly disk: Disk;
  readonly log: Logger;
}

export type { Clock, TimerHandle } from './clock.js';
export { every, sleep } from './clock.js';
export type { Random } from './random.js';
export { randomHex } from './random.js';
export type { Disk, DiskFile, OpenOptions, FileStat } from './disk.js';
export { joinPath, dirName } from './disk.js';
export type { Network, Connection, ConnectionHandlers, CloseReason, Listener, ListenOptions } from './network.js';
export { frameBytesOf, parseAddress, sendFrameParts } from './network.js';
export type { Logger, LogLevel, LogFields } from './logger.js';
export { silentLogger, logLevels } from './logger.js';
export * from './errors.js';
