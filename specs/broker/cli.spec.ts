// The raftline command against a real single-node cluster: topics through the metadata quorum, the quorum's status,
// and a named error with exit status 1 for every bad request (exit 2 for a bad command line).
import test from 'ava';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startBroker, waitForStatus } from '../helpers/broker-process.js';

interface CliResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

function cli(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.resolve('dist/cli.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`raftline ${args.join(' ')} did not finish in 20 s`));
    }, 20_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? 'unknown', stdout, stderr });
    });
  });
}

test('cli: topics and the quorum through a single-node cluster, with named errors', async (t) => {
  t.timeout(90_000);
  const broker = await startBroker(t, ['--node-id', '1']);
  await waitForStatus(`http://${broker.address}/readyz`, 200);
  const at = ['--bootstrap', broker.address];

  const created = await cli(['topic', 'create', 'orders', '--partitions', '3', ...at]);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /created topic orders \(3 partitions, replication factor 1/);

  const described = await cli(['topic', 'describe', 'orders', '--format', 'json', ...at]);
  t.is(described.code, 0, described.stderr);
  const topic = JSON.parse(described.stdout) as { name: string; partitions: Array<{ leader: number; isr: number[] }> };
  t.is(topic.partitions.length, 3);
  t.true(topic.partitions.every((p) => p.leader === 1 && p.isr.join() === '1'));

  const quorum = await cli(['metadata-quorum', 'status', '--format', 'json', ...at]);
  t.is(quorum.code, 0, quorum.stderr);
  const status = JSON.parse(quorum.stdout) as { leaderId: number; highWatermark: number; voters: Array<{ nodeId: number }> };
  t.is(status.leaderId, 1);
  t.true(status.highWatermark > 0);
  t.deepEqual(status.voters.map((v) => v.nodeId), [1]);

  const cluster = await cli(['cluster', 'describe', ...at]);
  t.is(cluster.code, 0, cluster.stderr);
  t.regex(cluster.stdout, /controller 1/);

  const errors: Array<[string[], RegExp]> = [
    [['topic', 'create', 'orders'], /^raftline: TOPIC_ALREADY_EXISTS: .*orders/],
    [['topic', 'create', 'bad/name'], /^raftline: INVALID_TOPIC_EXCEPTION: /],
    [['topic', 'create', 'wide', '--replication-factor', '3'], /^raftline: INVALID_REPLICATION_FACTOR: /],
    [['topic', 'create', 'cfg', '--config', 'retention.ms=soon'], /^raftline: INVALID_CONFIG: .*retention\.ms/],
    [['topic', 'delete', 'nope'], /^raftline: UNKNOWN_TOPIC_OR_PARTITION: .*nope/],
  ];
  for (const [args, expected] of errors) {
    const res = await cli([...args, ...at]);
    t.is(res.code, 1, args.join(' '));
    t.regex(res.stderr, expected);
  }

  const deleted = await cli(['topic', 'delete', 'orders', ...at]);
  t.is(deleted.code, 0, deleted.stderr);
  const list = await cli(['topic', 'list', ...at]);
  t.is(list.stdout.trim(), 'no topics');

  const usage = await cli(['topic', 'create', ...at]);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /takes one topic name/);
  const unknown = await cli(['topic', 'frobnicate', ...at]);
  t.is(unknown.code, 2);
  const unreachable = await cli(['cluster', 'describe', '--bootstrap', '127.0.0.1:1', '--timeout-ms', '2000']);
  t.is(unreachable.code, 1);
  t.regex(unreachable.stderr, /NETWORK_EXCEPTION/);
});
