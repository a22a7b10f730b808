// One port per node: an inbound WebSocket connection is either a Raft peer (it speaks one-way raft.* event frames,
// src/wire/raft-messages.ts) or a client of the RPC server (requests). The first frame decides, once per connection;
// from then on frames go straight to the owner. The first frame is decoded twice (here and by its owner), every
// later one once.
import { sendFrameParts, type Connection, type ConnectionHandlers } from '../runtime/network.js';
import type { WireApis, Registry } from '../wire/index.js';

export interface DemuxTargets {
  raft(connection: Connection): void;
  rpc(connection: Connection): void;
}

/** Routes `connection` to the Raft transport or the RPC server by its first frame. */
export function demuxConnection(connection: Connection, registry: Registry<WireApis>, targets: DemuxTargets): void {
  let owner: ConnectionHandlers | undefined;
  // The owner sees a connection whose handlers it may set as usual; the real connection keeps ours, which forward.
  const proxy: Connection = {
    get id() {
      return connection.id;
    },
    get remote() {
      return connection.remote;
    },
    get isOpen() {
      return connection.isOpen;
    },
    bufferedAmount: () => connection.bufferedAmount(),
    send: (frame) => connection.send(frame),
    sendParts: (parts) => sendFrameParts(connection, parts),
    pause: () => connection.pause(),
    resume: () => connection.resume(),
    close: (detail) => connection.close(detail),
    setHandlers: (handlers) => {
      owner = handlers;
    },
  };
  connection.setHandlers({
    onFrame: (frame) => {
      if (owner === undefined) {
        const envelope = registry.decodeEnvelope(frame);
        const isRaft = envelope.ok && envelope.value.kind === 'event' && envelope.value.api.startsWith('raft.');
        if (isRaft) targets.raft(proxy);
        else targets.rpc(proxy);
      }
      owner?.onFrame?.(frame);
    },
    onDrain: () => owner?.onDrain?.(),
    onClose: (reason) => {
      // A connection the transport refused before any whole frame (an oversized first frame, say) still belongs to
      // the RPC server's books, which count the refusal.
      if (owner === undefined && reason.protocolError !== undefined) targets.rpc(proxy);
      owner?.onClose?.(reason);
    },
  });
}
