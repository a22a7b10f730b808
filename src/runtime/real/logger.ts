// The real Logger: pino, one JSON object per line, with the node id bound on every line (and actor ids added by
// `child`). Fields come first and the message second, the same order as the port and as pino itself.
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogFields, LogLevel, Logger } from '../logger.js';

export interface LoggerOptions {
  /** The node id bound as `node` on every line. */
  nodeId: number | string;
  level: LogLevel;
  /** Where lines go; defaults to stdout. Tests pass an in-memory stream. */
  destination?: DestinationStream;
}

function wrap(inner: PinoLogger): Logger {
  return {
    trace: (fields: LogFields, message: string) => inner.trace(fields, message),
    debug: (fields: LogFields, message: string) => inner.debug(fields, message),
    info: (fields: LogFields, message: string) => inner.info(fields, message),
    warn: (fields: LogFields, message: string) => inner.warn(fields, message),
    error: (fields: LogFields, message: string) => inner.error(fields, message),
    fatal: (fields: LogFields, message: string) => inner.fatal(fields, message),
    child: (bindings: LogFields) => wrap(inner.child(bindings)),
  };
}

/** A pino-backed Logger for one node. */
export function createLogger(options: LoggerOptions): Logger {
  const pinoOptions = {
    level: options.level,
    base: { node: options.nodeId, pid: process.pid },
    // Errors under the `err` key are serialized with stack and cause; other keys are logged as given.
    serializers: { err: pino.stdSerializers.err },
  };
  const inner = options.destination === undefined ? pino(pinoOptions) : pino(pinoOptions, options.destination);
  return wrap(inner);
}
