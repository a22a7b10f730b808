// The real runtime: the ports of src/runtime/ over the host (clock, crypto randomness, node:fs, WebSocket, pino).
// Only the broker's composition root and benches build one; everything else receives a Runtime.
import type { Runtime } from '../index.js';
import type { LogLevel } from '../logger.js';
import { realClock } from './clock.js';
import { createRealDisk } from './disk.js';
import { createLogger } from './logger.js';
import { createRealNetwork, type RealNetwork, type RealNetworkOptions } from './network.js';
import { createRealRandom } from './random.js';

export { realClock } from './clock.js';
export { createRealRandom } from './random.js';
export { createRealDisk, mapFsError } from './disk.js';
export { createRealNetwork } from './network.js';
export type { RealNetwork, RealNetworkOptions, AttachOptions } from './network.js';
export { createLogger } from './logger.js';
export type { LoggerOptions } from './logger.js';

export interface RealRuntimeOptions {
  nodeId: number | string;
  /** Root directory of the node's data (the Disk's root). */
  dataDir: string;
  logLevel: LogLevel;
  network?: Omit<RealNetworkOptions, 'log'>;
}

/** The Runtime of a real node; `network` is the RealNetwork so the broker can `attach` to its HTTP server. */
export function createRealRuntime(options: RealRuntimeOptions): Runtime & { readonly network: RealNetwork } {
  const log = createLogger({ nodeId: options.nodeId, level: options.logLevel });
  return {
    clock: realClock,
    random: createRealRandom(),
    disk: createRealDisk(options.dataDir),
    log,
    network: createRealNetwork({ ...options.network, log: log.child({ component: 'network' }) }),
  };
}
