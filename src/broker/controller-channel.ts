// A ControllerChannel over the wire: one RpcClient per peer node, opened on first use through the Network port and
// dropped when its connection closes (the next request opens a new one). Keeps: at most one live client per node;
// every request settles (response, server error, REQUEST_TIMED_OUT or NETWORK_EXCEPTION) via RpcClient's guarantees.
import type { Clock } from '../runtime/clock.js';
import { silentLogger, type Logger } from '../runtime/logger.js';
import type { Network } from '../runtime/network.js';
import type { ControllerApis, ControllerChannel } from '../wire/controller.js';
import { RaftlineError } from '../wire/errors.js';
import { wireRegistry, type WireApis } from '../wire/registry.js';
import { RpcClient } from '../wire/rpc.js';
import type { RequestIn, ResponseOut } from '../wire/api.js';

export interface RpcControllerChannelOptions {
  network: Network;
  clock: Clock;
  /** "host:port" of a node's RPC endpoint (from --controller-quorum for voters), or undefined when unknown. */
  addressOf(nodeId: number): string | undefined;
  log?: Logger;
}

export interface RpcControllerChannel {
  readonly send: ControllerChannel;
  /** Closes every client (outstanding requests fail with NETWORK_EXCEPTION). */
  close(): void;
}

export function createRpcControllerChannel(options: RpcControllerChannelOptions): RpcControllerChannel {
  const log = options.log ?? silentLogger;
  const clients = new Map<number, RpcClient<WireApis>>();

  const clientFor = (nodeId: number): RpcClient<WireApis> => {
    const known = clients.get(nodeId);
    if (known !== undefined && !known.isClosed) return known;
    const address = options.addressOf(nodeId);
    if (address === undefined) throw new RaftlineError('NETWORK_EXCEPTION', `no address known for node ${nodeId}`);
    const client: RpcClient<WireApis> = new RpcClient(options.network.connect(address, {}), {
      registry: wireRegistry,
      clock: options.clock,
      log: log.child({ peer: nodeId }),
      onClose: () => {
        if (clients.get(nodeId) === client) clients.delete(nodeId);
      },
    });
    clients.set(nodeId, client);
    return client;
  };

  const send: ControllerChannel = async <K extends keyof ControllerApis>(nodeId: number, api: K, body: RequestIn<ControllerApis, K>, timeoutMs: number) => {
    const client = clientFor(nodeId);
    // The controller family is part of WireApis, so the schemas (and types) are the same ones.
    const response: unknown = await client.request(api, body as RequestIn<WireApis, K>, { timeoutMs });
    return response as ResponseOut<ControllerApis, K>;
  };

  return {
    send,
    close: () => {
      for (const client of clients.values()) client.close('controller channel closed');
      clients.clear();
    },
  };
}
