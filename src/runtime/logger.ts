// The Logger port: one structured logger; every line carries the node id, and actors add their actor id with
// `child`. Real: pino to stdout. Simulated: lines go into the trace, stamped with virtual time.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export type LogFields = Record<string, unknown>;

export interface Logger {
  trace(fields: LogFields, message: string): void;
  debug(fields: LogFields, message: string): void;
  info(fields: LogFields, message: string): void;
  warn(fields: LogFields, message: string): void;
  error(fields: LogFields, message: string): void;
  fatal(fields: LogFields, message: string): void;
  /** A logger whose lines also carry `bindings` (e.g. `{ actor: 'raft' }`). */
  child(bindings: LogFields): Logger;
}

export const logLevels: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** A logger that drops everything (for tests that do not look at logs). */
export const silentLogger: Logger = {
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  fatal: () => {},
  child: () => silentLogger,
};
