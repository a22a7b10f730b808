// Produce/consume benchmark against real broker processes on 127.0.0.1: 3 nodes (each broker and controller),
// 1 KiB records; throughput (MB/s, records/s) of RF=1 acks=1 and RF=3 acks=all producers, a consumer reading the
// RF=3 topic back, and the p50/p99 latency of single-record acks=all sends (one at a time). Each phase also reports
// how many CPU cores the client and each broker kept busy, to tell where the time goes. Not part of make test.
//
// `make bench-produce` bundles this file like dist/broker.js (node scripts/build.mjs --bench produce) and runs
// dist/bench-produce.js, so the client side runs as it ships too: through tsx every closure pays a name-keeping
// Object.defineProperty (docs/storage.md, "Measured as it ships"). Options, for either form:
//   node dist/bench-produce.js [--records 300000] [--latency-samples 2000] [--partitions 6] [--base-port 29090]
//        [--phases rf1,rf3,consume,latency] [--fetch-max-bytes 8388608] [--partition-fetch-bytes 1048576]
//        [--max-poll-records 10000]
//
// To profile: BENCH_BROKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" passes node flags to every broker (each
// writes its .cpuprofile on its clean exit), `node --cpu-prof --import tsx bench/produce.ts` profiles the client, and
// --phases runs only some phases so one profile covers one workload; bench/cpuprofile-top.ts summarises profiles.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { createConsumer, createProducer } from '../src/client/real.js';
import { createLogger, createRealNetwork, realClock } from '../src/runtime/real/index.js';
import { silentLogger } from '../src/runtime/logger.js';
import { RpcClient } from '../src/wire/rpc.js';
import { wireRegistry } from '../src/wire/registry.js';
import { measureLatencyFloor, runFloorNodeIfAsked } from './latency-floor.js';
import { sendWindowed } from './send-loop.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
// 300 000 records (≈ 300 MB): each throughput phase then lasts seconds, not tenths, so connecting, the first requests
// and the JIT's warm-up are a small part of it. With 100 000 the consume phase lasted 0.3-0.6 s and its MB/s measured
// mostly the start (the client's CPU per MB there was 2.8-4.4 ms against 1.6-1.9 in steady state).
const records = option('records', Number(process.env['BENCH_PRODUCE_RECORDS'] ?? 300_000));
const latencySamples = option('latency-samples', 2_000);
const partitions = option('partitions', 6);
const basePort = option('base-port', 29_090);
// The consumer's fetch.max.bytes and max.partition.fetch.bytes (what one fetch response may carry per broker and per
// partition): the size of the frames the client receives. Kafka's default 1 MiB per partition (≈ 2 MiB frames here)
// costs the client ≈ 1.7-1.9 CPU ms/MB where 4 MiB (8 MiB frames) cost 2.7-3.3: ws joins each frame into a fresh
// buffer, and 8 MiB ones are page-faulted in and zeroed by the kernel each time (docs/performance.md, third round).
const consumeFetchMaxBytes = option('fetch-max-bytes', 8 * 1024 * 1024);
const consumePartitionFetchBytes = option('partition-fetch-bytes', 1024 * 1024);
const consumeMaxPollRecords = option('max-poll-records', 10_000);
const phases = new Set((args.includes('--phases') ? args[args.indexOf('--phases') + 1]! : 'rf1,rf3,consume,latency').split(','));
const brokerNodeArgs = (process.env['BENCH_BROKER_NODE_ARGS'] ?? '').split(' ').filter((a) => a.length > 0);
// BENCH_CLIENT_CPU=1 prints the client's user and system CPU time of each phase on stderr; BENCH_LATENCY_TRACE=1 prints
// each single-record send slower than 3 ms with when it started in its phase.
// BENCH_CLIENT_PROFILE=consume:/tmp/prof writes a .cpuprofile of this client covering only that phase (rf1, rf3,
// consume, latency, latency1), so a phase's profile is not mixed with the producer's that ran before it.
// BENCH_BROKER_SCRIPT runs another build of the broker (an A/B comparison of broker-side changes).
const brokerScript = process.env['BENCH_BROKER_SCRIPT'] ?? 'dist/broker.js';
const [profilePhase, profileDir] = (process.env['BENCH_CLIENT_PROFILE'] ?? '').split(':');
const recordBytes = 1024;
const nodes = 3;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Node {
  id: number;
  address: string;
  child: ChildProcess;
  exited: Promise<unknown>;
}

async function startCluster(dataRoot: string): Promise<Node[]> {
  const quorum = Array.from({ length: nodes }, (_, i) => `${i + 1}@127.0.0.1:${basePort + i + 1}`).join(',');
  const out: Node[] = [];
  for (let id = 1; id <= nodes; id++) {
    const child = spawn(process.execPath, [...brokerNodeArgs, path.resolve(brokerScript), '--node-id', String(id), '--controller-quorum', quorum, '--data-dir', path.join(dataRoot, `node-${id}`), '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    out.push({ id, address: `127.0.0.1:${basePort + id}`, child, exited: new Promise((r) => child.on('exit', r)) });
  }
  for (const n of out) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`http://${n.address}/readyz`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`node ${n.id} not ready in 30 s`);
      await sleep(100);
    }
  }
  return out;
}

/** CPU seconds (user + system) of a process so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Runs a phase and reports where its CPU time went: this client process and each broker. */
async function measured<T extends { seconds: number }>(cluster: Node[], name: string, phase: () => Promise<T>): Promise<T & { cpu: Record<string, number> }> {
  const session = name === profilePhase && profileDir !== undefined ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const client0 = process.cpuUsage();
  const brokers0 = cluster.map((n) => cpuSeconds(n.child.pid));
  const result = await phase();
  const client = process.cpuUsage(client0);
  if (process.env['BENCH_CLIENT_CPU'] !== undefined) process.stderr.write(`${name}: client user ${(client.user / 1e3).toFixed(0)} ms, sys ${(client.system / 1e3).toFixed(0)} ms\n`);
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    fs.mkdirSync(profileDir!, { recursive: true });
    const file = path.join(profileDir!, `client-${name}-${process.pid}.cpuprofile`);
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    process.stderr.write(`client profile of ${name}: ${file}\n`);
  }
  const cpu: Record<string, number> = { client: (client.user + client.system) / 1e6 };
  cluster.forEach((n, i) => (cpu[`broker${n.id}`] = cpuSeconds(n.child.pid) - brokers0[i]!));
  for (const k of Object.keys(cpu)) cpu[k] = Math.round((cpu[k]! / result.seconds) * 100) / 100;
  return { ...result, cpu };
}

async function stopCluster(cluster: Node[]): Promise<void> {
  for (const n of cluster) if (n.child.exitCode === null) n.child.kill('SIGTERM');
  await Promise.race([Promise.all(cluster.map((n) => n.exited)), sleep(10_000)]);
  for (const n of cluster) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL');
}

async function createTopic(addresses: string[], name: string, replicationFactor: number, configs: Record<string, string>): Promise<void> {
  const network = createRealNetwork({ log: silentLogger });
  let lastError: unknown;
  // Only the active controller takes the write; try each node in turn (a voter that is not active says NOT_CONTROLLER).
  for (let attempt = 0; attempt < 40; attempt++) {
    const address = addresses[attempt % addresses.length]!;
    const rpc = new RpcClient(network.connect(address, {}), { registry: wireRegistry, clock: realClock, timeoutMsDefault: 10_000 });
    try {
      const res = await rpc.request('controller.create-topics', { topics: [{ name, numPartitions: partitions, replicationFactor, configs }] });
      const err = res.topics[0]?.error;
      if (err && err.code !== 'TOPIC_ALREADY_EXISTS') throw new Error(`create ${name}: ${err.code}: ${err.message}`);
      // Wait until every partition has a leader and a full ISR in the brokers' metadata.
      for (let i = 0; i < 100; i++) {
        const meta = await rpc.request('data.metadata', { topics: [name] });
        const t = meta.topics[0];
        if (t && t.error === null && t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0 && p.isr.length === replicationFactor)) return;
        await sleep(100);
      }
      throw new Error(`topic ${name} has no leaders after 10 s`);
    } catch (err) {
      lastError = err;
      await sleep(100);
    } finally {
      rpc.close();
    }
  }
  throw lastError;
}

async function produceThroughput(bootstrap: string[], topic: string, acks: 'all' | 1): Promise<{ mbPerS: number; recordsPerS: number; seconds: number; requests: number; retries: number }> {
  const producer = createProducer({ bootstrap, acks, lingerMs: 5, batchSizeBytes: 256 * 1024, bufferBytes: 256 * 1024 * 1024, log: createLogger({ nodeId: 'bench', level: 'warn', destination: process.stderr }) });
  const value = Buffer.alloc(recordBytes, 0x61);
  // Warm up: metadata, producer id, connections.
  await producer.send({ topic, value });
  const { seconds, failed } = await sendWindowed(producer, topic, value, records);
  const { requests, retries } = producer.stats;
  await producer.close();
  if (failed > 0) throw new Error(`${failed} records failed on ${topic}`);
  return { mbPerS: (records * recordBytes) / seconds / 1e6, recordsPerS: records / seconds, seconds, requests, retries };
}

async function consumeThroughput(bootstrap: string[], topic: string, expected: number): Promise<{ mbPerS: number; recordsPerS: number; seconds: number }> {
  const consumer = createConsumer({ bootstrap, autoOffsetReset: 'earliest', maxPollRecords: consumeMaxPollRecords, fetchMaxBytes: consumeFetchMaxBytes, maxPartitionFetchBytes: consumePartitionFetchBytes });
  consumer.assign(Array.from({ length: partitions }, (_, p) => ({ topic, partition: p })));
  let got = 0;
  let bytes = 0;
  const start = performance.now();
  while (got < expected) {
    const batch = await consumer.poll(5_000);
    if (batch.length === 0) throw new Error(`consumer stalled at ${got}/${expected}`);
    got += batch.length;
    for (const r of batch) bytes += r.value?.length ?? 0;
  }
  const seconds = (performance.now() - start) / 1000;
  consumer.close();
  return { mbPerS: bytes / seconds / 1e6, recordsPerS: got / seconds, seconds };
}

async function latency(bootstrap: string[], topic: string, acks: 'all' | 1 = 'all'): Promise<{ p50Ms: number; p99Ms: number; samples: number; seconds: number }> {
  const producer = createProducer({ bootstrap, acks, lingerMs: 0 });
  const value = Buffer.alloc(recordBytes, 0x62);
  for (let i = 0; i < 100; i++) await producer.send({ topic, value, partition: 0 });
  const samples: number[] = [];
  const startedAt: number[] = [];
  const start = performance.now();
  for (let i = 0; i < latencySamples; i++) {
    const t0 = performance.now();
    await producer.send({ topic, value, partition: 0 });
    samples.push(performance.now() - t0);
    startedAt.push(t0 - start);
  }
  const seconds = (performance.now() - start) / 1000;
  // BENCH_LATENCY_TRACE=1 prints every send slower than 3 ms with when it started in the phase (to see whether the
  // slow ones are periodic: a timer, a heartbeat, a garbage collection).
  if (process.env['BENCH_LATENCY_TRACE'] === '1') {
    samples.forEach((ms, i) => {
      if (ms > 3) process.stderr.write(`slow send ${i} at ${startedAt[i]!.toFixed(1)} ms: ${ms.toFixed(2)} ms\n`);
    });
  }
  await producer.close();
  samples.sort((a, b) => a - b);
  const at = (q: number): number => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { p50Ms: at(0.5), p99Ms: at(0.99), samples: samples.length, seconds };
}

async function main(): Promise<void> {
  if (!fs.existsSync(brokerScript)) throw new Error(`${brokerScript} is missing: run make build first (bench-produce depends on it)`);
  const dataRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'raftline-bench-produce-'));
  const cluster = await startCluster(dataRoot);
  const bootstrap = cluster.map((n) => n.address);
  try {
    await createTopic(bootstrap, 'bench-rf1', 1, {});
    await createTopic(bootstrap, 'bench-rf3', 3, { 'min.insync.replicas': '2' });
    if (phases.has('consume') && !phases.has('rf3')) throw new Error('--phases: consume reads what rf3 wrote; name rf3 too');
    const rf1 = phases.has('rf1') ? await measured(cluster, 'rf1', () => produceThroughput(bootstrap, 'bench-rf1', 1)) : undefined;
    const rf3 = phases.has('rf3') ? await measured(cluster, 'rf3', () => produceThroughput(bootstrap, 'bench-rf3', 'all')) : undefined;
    const read = phases.has('consume') ? await measured(cluster, 'consume', () => consumeThroughput(bootstrap, 'bench-rf3', records + 1)) : undefined;
    const lat = phases.has('latency') ? await measured(cluster, 'latency', () => latency(bootstrap, 'bench-rf3')) : undefined;
    // The same on the RF=1 topic with acks=1: the difference is the wait for the followers.
    const lat1 = phases.has('latency') ? await measured(cluster, 'latency1', () => latency(bootstrap, 'bench-rf1', 1)) : undefined;
    // The same chains of messages and writes with nothing of Raftline in them (bench/latency-floor.ts), measured now,
    // with the cluster idle beside them: the part of the latency that Node, ws, the loopback and the thread pool take.
    const floorOptions = { script: process.argv[1]!, execArgv: process.execArgv, samples: latencySamples };
    const floor = phases.has('latency') ? await measureLatencyFloor({ ...floorOptions, port: basePort + 100, followers: 2, acks: 'all' }) : undefined;
    const floor1 = phases.has('latency') ? await measureLatencyFloor({ ...floorOptions, port: basePort + 101, followers: 0, acks: 1 }) : undefined;
    const result = {
      machine: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100) },
      records,
      recordBytes,
      partitions,
      'rf1-acks1': rf1,
      'rf3-acksall': rf3,
      'consume-rf3': read,
      'latency-acksall-single': lat,
      'latency-acks1-rf1-single': lat1,
      'floor-acksall-single': floor,
      'floor-acks1-single': floor1,
    };
    const f = (n: number): string => n.toFixed(1);
    const cores = (c: Record<string, number>): string => Object.entries(c).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');
    // CPU time per MB moved (client + all brokers): unlike MB/s it barely depends on how loaded the machine is.
    const cpuMsPerMb = (r: { cpu: Record<string, number>; mbPerS: number }): string =>
      `${f((Object.values(r.cpu).reduce((a, b) => a + b, 0) * 1000) / r.mbPerS)} CPU ms/MB`;
    // CPU time per single-record send, all processes together: the work on the latency path, whatever the load.
    const cpuUsPerSend = (r: { cpu: Record<string, number>; seconds: number; samples: number }): string =>
      `${((Object.values(r.cpu).reduce((a, b) => a + b, 0) * r.seconds * 1e6) / r.samples).toFixed(0)} CPU µs/send`;
    const lines: string[] = [];
    if (rf1) lines.push(`produce RF=1 acks=1   : ${f(rf1.mbPerS)} MB/s, ${f(rf1.recordsPerS)} records/s (${records} x ${recordBytes} B in ${f(rf1.seconds)} s, ${rf1.requests} requests, ${rf1.retries} retries), ${cpuMsPerMb(rf1)}`);
    if (rf3) lines.push(`produce RF=3 acks=all : ${f(rf3.mbPerS)} MB/s, ${f(rf3.recordsPerS)} records/s (${f(rf3.seconds)} s, ${rf3.requests} requests, ${rf3.retries} retries), ${cpuMsPerMb(rf3)}   target >= 100 MB/s`);
    if (read) lines.push(`consume RF=3          : ${f(read.mbPerS)} MB/s, ${f(read.recordsPerS)} records/s, ${cpuMsPerMb(read)}   target >= 400 MB/s`);
    const busy = [rf1 && `RF=1 [${cores(rf1.cpu)}]`, rf3 && `RF=3 [${cores(rf3.cpu)}]`, read && `consume [${cores(read.cpu)}]`].filter(Boolean);
    if (busy.length > 0) lines.push(`CPU cores busy (user+sys per wall second): ${busy.join('; ')}`);
    if (lat) lines.push(`single acks=all send  : p50 ${lat.p50Ms.toFixed(3)} ms, p99 ${lat.p99Ms.toFixed(3)} ms over ${lat.samples}, ${cpuUsPerSend(lat)}   targets p50 <= 0.5, p99 <= 1.5`);
    if (lat1) lines.push(`single acks=1 send    : p50 ${lat1.p50Ms.toFixed(3)} ms, p99 ${lat1.p99Ms.toFixed(3)} ms (RF=1: no follower to wait for), ${cpuUsPerSend(lat1)}`);
    if (floor) lines.push(`floor, acks=all chain : p50 ${floor.p50Ms.toFixed(3)} ms, p99 ${floor.p99Ms.toFixed(3)} ms (bare ws frames + 1 KiB file writes, same hops; bench/latency-floor.ts)${lat ? `, cluster / floor p50 ${(lat.p50Ms / floor.p50Ms).toFixed(2)}` : ''}`);
    if (floor1) lines.push(`floor, acks=1 chain   : p50 ${floor1.p50Ms.toFixed(3)} ms, p99 ${floor1.p99Ms.toFixed(3)} ms${lat1 ? `, cluster / floor p50 ${(lat1.p50Ms / floor1.p50Ms).toFixed(2)}` : ''}`);
    lines.push(`load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    lines.push(JSON.stringify(result));
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await stopCluster(cluster);
    fs.rmSync(dataRoot, { recursive: true, force: true });
  }
}

// The latency floor re-runs this script as its skeleton nodes (--floor-node leader|follower).
if (!runFloorNodeIfAsked(process.argv)) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench-produce: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
