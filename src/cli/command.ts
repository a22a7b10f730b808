// What a `raftline` command is: a path of words, its flags, and a run function given a context that parses flags,
// opens one session to the bootstrap node, and prints text or JSON (`--format json`).
import { flagValue, intFlag, UsageError, type FlagSpec, type ParsedArgs } from './args.js';
import { openSession, type CliSession } from './session.js';
import type { Clock } from '../runtime/clock.js';
import { realClock } from '../runtime/real/clock.js';

export interface CliContext {
  readonly args: ParsedArgs;
  readonly clock: Clock;
  flag(name: string): string | undefined;
  int(name: string, min: number, max: number): number | undefined;
  /** The session to --bootstrap, opened on first use and closed when the command ends. */
  session(): CliSession;
  /** A session to another node (e.g. the active controller), closed when the command ends. */
  sessionTo(address: string): CliSession;
  /** Prints `value` as JSON with --format json, else the text. */
  output(value: unknown, text: () => string): void;
}

export interface CliCommand {
  path: string[];
  summary: string;
  flags: Record<string, FlagSpec>;
  run(ctx: CliContext): Promise<void>;
}

/** Flags every command takes. */
export const commonFlags: Record<string, FlagSpec> = {
  bootstrap: { value: true, help: 'a node to connect to, host:port (default $RAFTLINE_BOOTSTRAP or 127.0.0.1:9092)' },
  format: { value: true, help: 'text (default) or json' },
  'timeout-ms': { value: true, help: 'request timeout in ms (default 10000)' },
};

export function createContext(args: ParsedArgs, write: (text: string) => void): { ctx: CliContext; close(): void } {
  const format = flagValue(args, 'format') ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError(`--format must be text or json, got ${JSON.stringify(format)}`);
  const timeoutMs = intFlag(args, 'timeout-ms', 1, 3_600_000) ?? 10_000;
  let session: CliSession | undefined;
  const others: CliSession[] = [];
  const ctx: CliContext = {
    args,
    clock: realClock,
    flag: (name) => flagValue(args, name),
    int: (name, min, max) => intFlag(args, name, min, max),
    session() {
      session ??= openSession(flagValue(args, 'bootstrap'), { timeoutMs });
      return session;
    },
    sessionTo(address) {
      const other = openSession(address, { timeoutMs });
      others.push(other);
      return other;
    },
    output(value, text) {
      write(format === 'json' ? `${JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v))}\n` : `${text()}\n`);
    },
  };
  return {
    ctx,
    close: () => {
      session?.close();
      for (const other of others) other.close();
    },
  };
}
