// Two in-memory Connection ends for wire specs that want full control: frames are delivered on a microtask, the
// spec decides when the client side opens and when send reports backpressure, and it can inject raw frames.
import type { CloseReason, Connection, ConnectionHandlers } from '../../src/runtime/network.js';

export interface MemoryEnd extends Connection {
  readonly sent: Uint8Array[];
  /** Makes `send` return false (and later fire onDrain with `drain`). */
  backpressure: boolean;
  /** Whether the owner has paused reading (pause/resume calls). */
  readonly paused: boolean;
  drain(): void;
  /** Fires onOpen on this end. */
  open(): void;
  /** Delivers a raw frame to this end's onFrame as if the peer had sent it. */
  inject(frame: Uint8Array): void;
}

export function memoryPair(options: { openAtStart?: boolean } = {}): { client: MemoryEnd; server: MemoryEnd } {
  let clientOpen = options.openAtStart ?? true;
  let closed = false;
  const ends: MemoryEnd[] = [];
  const closeBoth = (closer: number, detail: string): void => {
    if (closed) return;
    closed = true;
    queueMicrotask(() => {
      ends.forEach((end, i) => {
        const reason: CloseReason = { by: i === closer ? 'local' : 'remote', detail };
        (end as unknown as { handlers: ConnectionHandlers }).handlers.onClose?.(reason);
      });
    });
  };
  const make = (index: number, id: string): MemoryEnd => {
    const end = {
      id,
      remote: index === 0 ? 'server:1' : 'client:1',
      handlers: {} as ConnectionHandlers,
      sent: [] as Uint8Array[],
      backpressure: false,
      paused: false,
      get isOpen() {
        return !closed && (index === 1 || clientOpen);
      },
      bufferedAmount: () => 0,
      send(frame: Uint8Array) {
        if (!end.isOpen) return false;
        end.sent.push(frame);
        const peer = ends[1 - index] as MemoryEnd & { handlers: ConnectionHandlers };
        queueMicrotask(() => {
          if (!closed) peer.handlers.onFrame?.(frame);
        });
        return !end.backpressure;
      },
      pause() {
        end.paused = true;
      },
      resume() {
        end.paused = false;
      },
      close(detail = 'closed locally') {
        closeBoth(index, detail);
      },
      setHandlers(handlers: ConnectionHandlers) {
        end.handlers = handlers;
      },
      drain() {
        end.backpressure = false;
        end.handlers.onDrain?.();
      },
      open() {
        clientOpen = true;
        end.handlers.onOpen?.();
      },
      inject(frame: Uint8Array) {
        end.handlers.onFrame?.(frame);
      },
    };
    return end;
  };
  ends.push(make(0, 'client-1'), make(1, 'server-1'));
  return { client: ends[0] as MemoryEnd, server: ends[1] as MemoryEnd };
}
