// A CLI session: one RPC connection to a bootstrap node over the real network, closed when the command ends.
// Errors become CliError with the wire code, so main() prints `raftline: CODE: message` and exits 1.
import { createLogger, createRealNetwork, realClock } from '../runtime/real/index.js';
import { parseAddress } from '../runtime/network.js';
import { RpcClient, wireRegistry, type WireApis } from '../wire/index.js';
import { UsageError } from './args.js';

export interface CliSession {
  readonly bootstrap: string;
  readonly rpc: RpcClient<WireApis>;
  close(): void;
}

export function openSession(bootstrap: string | undefined, options: { timeoutMs: number }): CliSession {
  const address = bootstrap ?? process.env['RAFTLINE_BOOTSTRAP'] ?? '127.0.0.1:9092';
  try {
    parseAddress(address);
  } catch {
    throw new UsageError(`--bootstrap must be host:port, got ${JSON.stringify(address)}`);
  }
  const log = createLogger({ nodeId: 'cli', level: (process.env['RAFTLINE_LOG_LEVEL'] as 'debug' | undefined) ?? 'silent' });
  const network = createRealNetwork({ log, connectTimeoutMs: options.timeoutMs });
  const rpc = new RpcClient(network.connect(address, {}), { registry: wireRegistry, clock: realClock, log, timeoutMsDefault: options.timeoutMs });
  return {
    bootstrap: address,
    rpc,
    close: () => rpc.close('command finished'),
  };
}
