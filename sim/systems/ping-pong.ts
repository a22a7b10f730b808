// The first system under test: every node answers pings, and pings the next node in the ring with an xstate
// actor that waits for the pong with an `after` timeout and retries (or reconnects) until it has completed
// `rounds` round trips. Invariant checked: a pinger only counts a pong that answers its outstanding ping, and
// round trips per node never exceed the pings it sent.
import { assign, createActor, setup, type ActorRefFrom } from 'xstate';
import type { Connection, Runtime } from '../../src/runtime/index.js';
import type { Checker, SimNode, SimNodeContext, SimSystem } from '../system.js';
import { traceActorStates } from '../trace-actor.js';
import type { Simulation } from '../simulation.js';

export const pingPongPort = 9000;
const framePing = 1;
const framePong = 2;

export interface PingPongParams {
  rounds: number;
  intervalMs: number;
  timeoutMs: number;
  reconnectMs: number;
  /** A deliberately planted bug, so specs can show that checkers and the shrinker catch real failures. */
  bug: 'none' | 'no-retry';
}

export function pingPongParams(raw: Record<string, number | string | boolean>): PingPongParams {
  const num = (key: string, fallback: number): number => {
    const v = raw[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new TypeError(`ping-pong: params.${key} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const bug = raw['bug'] ?? 'none';
  if (bug !== 'none' && bug !== 'no-retry') throw new TypeError(`ping-pong: params.bug must be "none" or "no-retry", got ${JSON.stringify(bug)}`);
  return { rounds: num('rounds', 20), intervalMs: num('intervalMs', 100), timeoutMs: num('timeoutMs', 250), reconnectMs: num('reconnectMs', 200), bug };
}

function encode(kind: number, seq: number): Uint8Array {
  const b = new Uint8Array(5);
  b[0] = kind;
  new DataView(b.buffer).setUint32(1, seq);
  return b;
}

function decode(frame: Uint8Array): { kind: number; seq: number } | null {
  if (frame.length !== 5) return null;
  return { kind: frame[0]!, seq: new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(1) };
}

type PingerEvent =
  | { type: 'net.open' }
  | { type: 'net.closed' }
  | { type: 'ping.pong'; seq: number };

/** Pings one peer: connect, then ping / await pong (with timeout and retry) until `rounds` round trips are done. */
export const pingerMachine = setup({
  types: {
    context: {} as { seq: number; completed: number; sent: number; params: PingPongParams; connect: () => void; send: (seq: number) => void },
    events: {} as PingerEvent,
    input: {} as { params: PingPongParams; connect: () => void; send: (seq: number) => void },
  },
  delays: {
    interval: ({ context }) => context.params.intervalMs,
    timeout: ({ context }) => context.params.timeoutMs,
    reconnect: ({ context }) => context.params.reconnectMs,
  },
  guards: {
    answersOutstandingPing: ({ context, event }) => event.type === 'ping.pong' && event.seq === context.seq,
    isDone: ({ context }) => context.completed >= context.params.rounds,
    retriesOnTimeout: ({ context }) => context.params.bug !== 'no-retry',
  },
  actions: {
    openConnection: ({ context }) => context.connect(),
    sendPing: assign({
      sent: ({ context }) => {
        context.send(context.seq);
        return context.sent + 1;
      },
    }),
    countRoundTrip: assign({ completed: ({ context }) => context.completed + 1, seq: ({ context }) => context.seq + 1 }),
  },
}).createMachine({
  id: 'pingPong.pinger',
  context: ({ input }) => ({ seq: 1, completed: 0, sent: 0, params: input.params, connect: input.connect, send: input.send }),
  initial: 'connecting',
  states: {
    connecting: {
      entry: 'openConnection',
      on: { 'net.open': 'resting', 'net.closed': 'backingOff' },
    },
    backingOff: {
      after: { reconnect: 'connecting' },
    },
    resting: {
      always: { guard: 'isDone', target: 'finished' },
      after: { interval: 'awaitingPong' },
      on: { 'net.closed': 'backingOff' },
    },
    awaitingPong: {
      entry: 'sendPing',
      on: {
        'ping.pong': { guard: 'answersOutstandingPing', target: 'resting', actions: 'countRoundTrip' },
        'net.closed': 'backingOff',
      },
      after: {
        timeout: [{ guard: 'retriesOnTimeout', target: 'awaitingPong', reenter: true }, { target: 'stuck' }],
      },
    },
    stuck: {
      on: { 'net.closed': 'backingOff' },
    },
    finished: { type: 'final' },
  },
});

type Pinger = ActorRefFrom<typeof pingerMachine>;

class PingPongNode implements SimNode {
  pinger: Pinger | null = null;
  private readonly runtime: Runtime;
  private connection: Connection | null = null;
  private readonly serverConnections = new Set<Connection>();
  private stopListening: (() => Promise<void>) | null = null;

  constructor(
    private readonly ctx: SimNodeContext,
    private readonly params: PingPongParams,
    private readonly peerAddress: string,
  ) {
    this.runtime = ctx.runtime;
  }

  async start(): Promise<void> {
    const log = this.runtime.log.child({ actor: 'pingPong.ponger' });
    const listener = await this.runtime.network.listen({ host: this.ctx.host, port: pingPongPort }, (conn) => {
      this.serverConnections.add(conn);
      conn.setHandlers({
        onFrame: (frame) => {
          const msg = decode(frame);
          if (msg === null || msg.kind !== framePing) {
            log.warn({ bytes: frame.length }, 'bad frame');
            return;
          }
          conn.send(encode(framePong, msg.seq));
        },
        onClose: () => this.serverConnections.delete(conn),
      });
    });
    this.stopListening = () => listener.close();
    const pingerLog = this.runtime.log.child({ actor: 'pingPong.pinger' });
    const pinger = createActor(pingerMachine, {
      clock: this.runtime.clock,
      input: { params: this.params, connect: () => this.connect(), send: (seq) => this.connection?.send(encode(framePing, seq)) },
    });
    traceActorStates(pinger, pingerLog, () => ({ completed: pinger.getSnapshot().context.completed }));
    this.pinger = pinger;
    pinger.start();
  }

  stop(): void {
    this.pinger?.stop();
    this.connection?.close('stopping');
    for (const c of this.serverConnections) c.close('stopping');
    void this.stopListening?.();
  }

  completed(): number {
    return this.pinger?.getSnapshot().context.completed ?? 0;
  }

  sent(): number {
    return this.pinger?.getSnapshot().context.sent ?? 0;
  }

  private connect(): void {
    const conn = this.runtime.network.connect(this.peerAddress, {
      onOpen: () => this.pinger?.send({ type: 'net.open' }),
      onFrame: (frame) => {
        const msg = decode(frame);
        if (msg !== null && msg.kind === framePong) this.pinger?.send({ type: 'ping.pong', seq: msg.seq });
      },
      onClose: () => {
        if (this.connection === conn) this.connection = null;
        this.pinger?.send({ type: 'net.closed' });
      },
    });
    this.connection = conn;
  }
}

function pingPongNodes(sim: Simulation): PingPongNode[] {
  const nodes: PingPongNode[] = [];
  for (const p of sim.processes.values()) if (p.up && p.node instanceof PingPongNode) nodes.push(p.node);
  return nodes;
}

export const pingPongSystem: SimSystem = {
  name: 'ping-pong',
  createNode(ctx) {
    const params = pingPongParams(ctx.schedule.workload.params);
    const ids = ctx.schedule.cluster.nodes.map((n) => n.id);
    const next = ids[(ids.indexOf(ctx.nodeId) + 1) % ids.length]!;
    return new PingPongNode(ctx, params, `${ctx.hostOf(next)}:${pingPongPort}`);
  },
  checkers(): Checker[] {
    return [
      {
        name: 'ping-pong.round-trips',
        atEnd(sim, _phase, fail) {
          for (const n of pingPongNodes(sim)) {
            if (n.completed() > n.sent()) fail(`a pinger counted ${n.completed()} round trips for ${n.sent()} pings`);
          }
        },
      },
    ];
  },
  converged(sim) {
    const nodes = pingPongNodes(sim);
    return nodes.length === sim.processes.size && nodes.every((n) => n.pinger?.getSnapshot().status === 'done');
  },
};

/** The base schedule `explore` uses when none is given: three nodes, faults left to the swarm generator. */
export const pingPongBaseSchedule = {
  version: 1,
  system: 'ping-pong',
  cluster: { nodes: [{ id: 1, roles: ['broker'] }, { id: 2, roles: ['broker'] }, { id: 3, roles: ['broker'] }] },
  workload: { params: { rounds: 40, intervalMs: 100, timeoutMs: 250 } },
  network: { latencyMinMs: 1, latencyMaxMs: 10 },
  phases: { safetyMs: 6_000, livenessMs: 30_000 },
} as const;
