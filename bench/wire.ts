// Wire benchmark: node.ping round-trip latency and pipelined throughput over 127.0.0.1, with 1 KiB and 64 KiB
// payloads, through the real stack (ws + CBOR + zod + RpcClient/createRpcServer). The server runs in a child
// process so client and server do not share one event loop. A raw `ws` echo of the same bytes is the baseline.
//
//   node --import tsx bench/wire.ts [--seconds 3] [--concurrency 64]
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { realClock } from '../src/runtime/real/clock.js';
import { createLogger } from '../src/runtime/real/logger.js';
import { createRealNetwork } from '../src/runtime/real/network.js';
import type { Connection } from '../src/runtime/network.js';
import { nodeHandlers } from '../src/wire/node-handlers.js';
import { wireRegistry } from '../src/wire/registry.js';
import { RpcClient } from '../src/wire/rpc.js';
import { createRpcServer } from '../src/wire/server.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};

async function serve(): Promise<void> {
  const server = createRpcServer({
    registry: wireRegistry,
    clock: realClock,
    log: createLogger({ nodeId: 1, level: 'warn' }),
    handlers: nodeHandlers(1),
  });
  const rpcListener = await server.listen(createRealNetwork(), { host: '127.0.0.1', port: 0 });
  // Baseline: a raw echo over the same transport, without CBOR, envelopes or validation.
  const echoListener = await createRealNetwork().listen({ host: '127.0.0.1', port: 0 }, (c) => c.setHandlers({ onFrame: (f) => c.send(f) }));
  process.stdout.write(`${JSON.stringify({ rpc: rpcListener.address, echo: echoListener.address })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function openRpc(address: string): RpcClient<typeof wireRegistry.apis> {
  // Requests made before the connection opens wait in the client's outbox.
  const connection: Connection = createRealNetwork().connect(address, {});
  return new RpcClient(connection, { registry: wireRegistry, clock: realClock, timeoutMsDefault: 30_000 });
}

async function rpcLatency(rpc: RpcClient<typeof wireRegistry.apis>, payload: Uint8Array, count: number) {
  for (let i = 0; i < Math.min(500, count); i++) await rpc.request('node.ping', { payload });
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const pong = await rpc.request('node.ping', { payload });
    samples.push(performance.now() - start);
    if (pong.payload.byteLength !== payload.byteLength) throw new Error('ping echoed the wrong payload');
  }
  samples.sort((a, b) => a - b);
  return { p50Us: percentile(samples, 50) * 1000, p99Us: percentile(samples, 99) * 1000 };
}

async function rpcThroughput(rpc: RpcClient<typeof wireRegistry.apis>, payload: Uint8Array, seconds: number, concurrency: number) {
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await rpc.request('node.ping', { payload });
      done++;
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedS = (performance.now() - start) / 1000;
  return { requestsPerS: done / elapsedS, mibPerS: (done * payload.byteLength) / elapsedS / 2 ** 20 };
}

async function echoThroughput(address: string, payload: Uint8Array, seconds: number, concurrency: number) {
  const ws = new WebSocket(`ws://${address}/`, { perMessageDeflate: false });
  await new Promise<void>((resolve) => ws.once('open', () => resolve()));
  let done = 0;
  let inFlight = 0;
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (inFlight < concurrency && performance.now() < deadline) {
        ws.send(payload, { binary: true });
        inFlight++;
      }
      if (inFlight === 0) resolve();
    };
    ws.on('message', () => {
      inFlight--;
      done++;
      pump();
    });
    pump();
  });
  const elapsedS = (performance.now() - start) / 1000;
  ws.close();
  return { requestsPerS: done / elapsedS, mibPerS: (done * payload.byteLength) / elapsedS / 2 ** 20 };
}

/** CPU cost of one round trip's edge work, in process: encode request, decode+validate it, encode the response,
 * decode+validate that. */
function codecCost(payload: Uint8Array, iterations: number): number {
  const start = performance.now();
  for (let cid = 0; cid < iterations; cid++) {
    const request = wireRegistry.decodeRequest(wireRegistry.encodeRequest('node.ping', cid, { payload }));
    if (!request.ok || request.value.api !== 'node.ping') throw new Error('codec bench: request did not decode');
    const envelope = wireRegistry.decodeEnvelope(wireRegistry.encodeResponse('node.ping', cid, { payload: request.value.body.payload }));
    if (!envelope.ok || !wireRegistry.parseResponse('node.ping', envelope.value).ok) throw new Error('codec bench: response did not decode');
  }
  return ((performance.now() - start) * 1000) / iterations;
}

async function main(): Promise<void> {
  const seconds = option('seconds', 3);
  const concurrency = option('concurrency', 64);
  const child: ChildProcess = spawn(process.execPath, ['--import=tsx', fileURLToPath(import.meta.url), '--serve'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const addresses = await new Promise<{ rpc: string; echo: string }>((resolve) => {
    child.stdout?.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()) as { rpc: string; echo: string }));
  });
  const rpc = openRpc(addresses.rpc);
  const rows: Array<Record<string, string>> = [];
  for (const size of [1024, 64 * 1024]) {
    const payload = new Uint8Array(size).fill(7);
    const latency = await rpcLatency(rpc, payload, size > 4096 ? 2000 : 5000);
    const rpcRate = await rpcThroughput(rpc, payload, seconds, concurrency);
    const echoRate = await echoThroughput(addresses.echo, payload, seconds, concurrency);
    const codecUs = codecCost(payload, size > 4096 ? 5_000 : 50_000);
    rows.push({
      payload: `${size / 1024} KiB`,
      'codec µs/rtt': codecUs.toFixed(1),
      'p50 rtt': `${latency.p50Us.toFixed(0)} µs`,
      'p99 rtt': `${latency.p99Us.toFixed(0)} µs`,
      [`node.ping/s (${concurrency} in flight)`]: rpcRate.requestsPerS.toFixed(0),
      'payload MiB/s': rpcRate.mibPerS.toFixed(1),
      'raw ws echo/s': echoRate.requestsPerS.toFixed(0),
      'raw MiB/s': echoRate.mibPerS.toFixed(1),
    });
  }
  console.table(rows);
  rpc.close();
  child.stdin?.end();
}

if (args.includes('--serve')) await serve();
else await main();
