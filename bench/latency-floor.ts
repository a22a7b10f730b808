// The floor under bench-produce's single-record latency: the same hops with nothing of Raftline in them.
//
// A single-record acks=all send in a 3-broker cluster is a chain of four messages between four processes and two
// file writes: the client sends to the leader, the leader writes the batch and answers both followers' parked fetches,
// each follower writes it and fetches again, and once both have the leader answers the client. This file runs that
// chain with bare WebSocket binary frames (the `ws` library the brokers use, without CBOR, zod or any broker code) and
// a FileHandle.write of the 1 KiB payload at each hop that writes (the thread-pool write the real Disk uses), in three
// child processes on 127.0.0.1 like the brokers. What it measures is what Node, ws, the loopback and the thread pool
// cost on this machine for that shape of chain; bench-produce prints it next to the cluster's figure, measured in the
// same run, so the gap between the two is the brokers' and the client's own work.
//
// Also runnable alone after `node scripts/build.mjs --bench latency-floor`:
//   node dist/bench-latency-floor.js [--samples 2000] [--port 29190]
import { spawn, type ChildProcess } from 'node:child_process';
import { open, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

export interface FloorResult {
  p50Ms: number;
  p99Ms: number;
  samples: number;
}

const toBuffer = (data: RawData): Buffer => (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));

/**
 * One skeleton node. The leader listens on `port`: a connection whose first frame is the 1-byte `F` is a follower's
 * replication connection, any other is a client's. Followers connect to the leader's port.
 */
async function floorNode(role: 'leader' | 'follower', port: number, dir: string, followers: number, writes: boolean): Promise<void> {
  const fh = await open(path.join(dir, `${role}-${process.pid}.log`), 'w');
  let position = 0;
  const append = async (bytes: Buffer): Promise<void> => {
    const at = position;
    position += bytes.length;
    if (writes) await fh.write(bytes, 0, bytes.length, at);
  };
  if (role === 'follower') {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    ws.on('open', () => ws.send(Buffer.from('F')));
    ws.on('message', (data) => {
      const bytes = toBuffer(data);
      // The record, then the next fetch, which tells the leader how far this follower has got.
      void append(bytes.subarray(8)).then(() => ws.send(bytes.subarray(0, 8)));
    });
    ws.on('close', () => process.exit(0));
    return;
  }
  const replicas: WebSocket[] = [];
  const waiting = new Map<number, { acks: number; client: WebSocket }>();
  let sequence = 0;
  const server = new WebSocketServer({ host: '127.0.0.1', port, perMessageDeflate: false });
  server.on('listening', () => process.send?.('listening'));
  server.on('connection', (ws) => {
    let kind: 'unknown' | 'follower' | 'client' = 'unknown';
    ws.on('message', (data) => {
      const bytes = toBuffer(data);
      if (kind === 'unknown' && bytes.length === 1 && bytes[0] === 0x46) {
        kind = 'follower';
        replicas.push(ws);
        if (replicas.length === followers) process.send?.('ready');
        return;
      }
      if (kind === 'follower') {
        const id = bytes.readUInt32LE(0);
        const entry = waiting.get(id);
        if (entry !== undefined && ++entry.acks === replicas.length) {
          waiting.delete(id);
          entry.client.send(bytes.subarray(0, 8));
        }
        return;
      }
      kind = 'client';
      const id = sequence++;
      const header = Buffer.alloc(8);
      header.writeUInt32LE(id, 0);
      void append(bytes).then(() => {
        if (replicas.length === 0 || bytes[0] === 0x31) {
          // acks=1: answered after the leader's own write.
          ws.send(header);
          return;
        }
        waiting.set(id, { acks: 0, client: ws });
        const frame = Buffer.concat([header, bytes]);
        for (const r of replicas) r.send(frame);
      });
    });
  });
}

/**
 * Starts a skeleton leader and `followers` skeleton followers as child processes of `script`, sends `samples`
 * single 1 KiB payloads one at a time, and returns the latency's p50 and p99. `acks` 1 answers after the leader's
 * write (the floor of an RF=1 acks=1 send); 'all' waits for every follower (RF=3 acks=all).
 */
export async function measureLatencyFloor(options: { script: string; execArgv?: string[]; port: number; samples: number; followers: number; acks: 1 | 'all'; writes?: boolean }): Promise<FloorResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'raftline-latency-floor-'));
  const children: ChildProcess[] = [];
  const spawnNode = (role: 'leader' | 'follower'): ChildProcess => {
    const child = spawn(process.execPath, [...(options.execArgv ?? []), options.script, '--floor-node', role, '--floor-port', String(options.port), '--floor-dir', dir, '--floor-followers', String(options.followers), '--floor-writes', options.writes === false ? 'no' : 'yes'], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    return child;
  };
  const waitFor = (child: ChildProcess, what: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`latency floor: no '${what}' from the ${what === 'listening' ? 'leader' : 'followers'} in 10 s`)), 10_000);
      child.on('message', (m) => {
        if (m === what) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => reject(new Error(`latency floor: a node exited with ${code}`)));
    });
  try {
    const leader = spawnNode('leader');
    await waitFor(leader, 'listening');
    const ready = options.followers > 0 ? waitFor(leader, 'ready') : Promise.resolve();
    for (let i = 0; i < options.followers; i++) spawnNode('follower');
    await ready;
    const ws = new WebSocket(`ws://127.0.0.1:${options.port}`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    // The first byte says which acks the send wants ('1' or anything else for all).
    const payload = Buffer.alloc(1024, 0x62);
    payload[0] = options.acks === 1 ? 0x31 : 0x61;
    let answered: (() => void) | undefined;
    ws.on('message', () => answered?.());
    const sendOne = (): Promise<void> =>
      new Promise((resolve) => {
        answered = resolve;
        ws.send(payload);
      });
    for (let i = 0; i < 100; i++) await sendOne();
    const samples: number[] = [];
    for (let i = 0; i < options.samples; i++) {
      const t0 = performance.now();
      await sendOne();
      samples.push(performance.now() - t0);
    }
    ws.close();
    samples.sort((a, b) => a - b);
    const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
    return { p50Ms: at(0.5), p99Ms: at(0.99), samples: samples.length };
  } finally {
    for (const child of children) if (child.exitCode === null && child.pid !== undefined) child.kill('SIGKILL');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await rm(dir, { recursive: true, force: true });
  }
}

/** If this process was started as a skeleton node (`--floor-node`), runs it and returns true. */
export function runFloorNodeIfAsked(argv: readonly string[]): boolean {
  const i = argv.indexOf('--floor-node');
  if (i < 0) return false;
  const value = (name: string): string => {
    const j = argv.indexOf(name);
    if (j < 0 || argv[j + 1] === undefined) throw new Error(`latency floor node: ${name} is missing`);
    return argv[j + 1]!;
  };
  const role = argv[i + 1];
  if (role !== 'leader' && role !== 'follower') throw new Error(`latency floor node: --floor-node must be leader or follower, not ${role}`);
  floorNode(role, Number(value('--floor-port')), value('--floor-dir'), Number(value('--floor-followers')), value('--floor-writes') !== 'no').catch((err: unknown) => {
    process.stderr.write(`latency floor node: ${String(err)}\n`);
    process.exit(1);
  });
  return true;
}

const isMain = process.argv[1] !== undefined && /latency-floor\.(ts|js)$/.test(process.argv[1]);
if (isMain && !runFloorNodeIfAsked(process.argv)) {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const samples = option('samples', 2_000);
  const port = option('port', 29_190);
  const script = process.argv[1]!;
  const all = await measureLatencyFloor({ script, execArgv: process.execArgv, port, samples, followers: 2, acks: 'all' });
  const one = await measureLatencyFloor({ script, execArgv: process.execArgv, port: port + 1, samples, followers: 0, acks: 1 });
  process.stdout.write(`floor, acks=all shape (client -> leader write -> 2 followers write -> leader -> client): p50 ${all.p50Ms.toFixed(3)} ms, p99 ${all.p99Ms.toFixed(3)} ms over ${all.samples}\n`);
  process.stdout.write(`floor, acks=1 shape (client -> leader write -> client): p50 ${one.p50Ms.toFixed(3)} ms, p99 ${one.p99Ms.toFixed(3)} ms over ${one.samples}\n`);
  // The same chains without the file writes: what the messages alone cost.
  const bare = await measureLatencyFloor({ script, execArgv: process.execArgv, port: port + 2, samples, followers: 2, acks: 'all', writes: false });
  process.stdout.write(`floor, acks=all shape, no file writes: p50 ${bare.p50Ms.toFixed(3)} ms, p99 ${bare.p99Ms.toFixed(3)} ms over ${bare.samples}\n`);
}
