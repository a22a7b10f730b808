// RPC clients to the other brokers' data endpoints (the advertised endpoint of each broker's registration in the
// metadata image), for the follower fetchers and for questions one broker asks another's replicas. Keeps: at most
// one live client per broker, dropped when its connection closes (the next request reconnects), and a broker whose
// registered endpoint changed (it restarted elsewhere) gets a fresh connection.
import type { Clock } from '../runtime/clock.js';
import { silentLogger, type Logger } from '../runtime/logger.js';
import type { Network } from '../runtime/network.js';
import type { RequestApiName, RequestIn, ResponseOut } from '../wire/api.js';
import { RaftlineError } from '../wire/errors.js';
import { wireRegistry, type WireApis } from '../wire/registry.js';
import { RpcClient } from '../wire/rpc.js';

export interface PeerClientsOptions {
  network: Network;
  clock: Clock;
  /** "host:port" of a broker's registered endpoint, or undefined when the image has none. */
  addressOf(brokerId: number): string | undefined;
  log?: Logger;
}

export interface PeerClients {
  request<K extends RequestApiName<WireApis>>(brokerId: number, api: K, body: RequestIn<WireApis, K>, timeoutMs: number): Promise<ResponseOut<WireApis, K>>;
  /** Closes every client (requests in flight fail with NETWORK_EXCEPTION). */
  close(): void;
}

export function createPeerClients(options: PeerClientsOptions): PeerClients {
  const log = options.log ?? silentLogger;
  const clients = new Map<number, { address: string; client: RpcClient<WireApis> }>();
  let closed = false;

  const clientFor = (brokerId: number): RpcClient<WireApis> => {
    if (closed) throw new RaftlineError('NETWORK_EXCEPTION', 'peer clients closed');
    const address = options.addressOf(brokerId);
    if (address === undefined) throw new RaftlineError('NETWORK_EXCEPTION', `no endpoint registered for broker ${brokerId}`);
    const known = clients.get(brokerId);
    if (known !== undefined && !known.client.isClosed && known.address === address) return known.client;
    known?.client.close('endpoint changed');
    const client: RpcClient<WireApis> = new RpcClient(options.network.connect(address, {}), {
      registry: wireRegistry,
      clock: options.clock,
      log: log.child({ peer: brokerId }),
      onClose: () => {
        if (clients.get(brokerId)?.client === client) clients.delete(brokerId);
      },
    });
    clients.set(brokerId, { address, client });
    return client;
  };

  return {
    async request(brokerId, api, body, timeoutMs) {
      return clientFor(brokerId).request(api, body, { timeoutMs });
    },
    close() {
      closed = true;
      for (const { client } of clients.values()) client.close('peer clients closed');
      clients.clear();
    },
  };
}
