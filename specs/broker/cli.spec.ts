// The raftline command against a real single-node cluster: topics through the metadata quorum, the quorum's status,
// and a named error with exit status 1 for every bad request (exit 2 for a bad command line).
import test from 'ava';
import { runCli, startBroker, waitForStatus } from '../helpers/broker-process.js';

test('cli: topics and the quorum through a single-node cluster, with named errors', async (t) => {
  t.timeout(90_000);
  const broker = await startBroker(t, ['--node-id', '1']);
  await waitForStatus(`http://${broker.address}/readyz`, 200);
  const at = ['--bootstrap', broker.address];

  const created = await runCli(['topic', 'create', 'orders', '--partitions', '3', ...at]);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /created topic orders \(3 partitions, replication factor 1/);

  const described = await runCli(['topic', 'describe', 'orders', '--format', 'json', ...at]);
  t.is(described.code, 0, described.stderr);
  const topic = JSON.parse(described.stdout) as { name: string; partitions: Array<{ leader: number; isr: number[] }> };
  t.is(topic.partitions.length, 3);
  t.true(topic.partitions.every((p) => p.leader === 1 && p.isr.join() === '1'));

  const quorum = await runCli(['metadata-quorum', 'status', '--format', 'json', ...at]);
  t.is(quorum.code, 0, quorum.stderr);
  const status = JSON.parse(quorum.stdout) as { leaderId: number; highWatermark: number; voters: Array<{ nodeId: number }> };
  t.is(status.leaderId, 1);
  t.true(status.highWatermark > 0);
  t.deepEqual(status.voters.map((v) => v.nodeId), [1]);

  const cluster = await runCli(['cluster', 'describe', ...at]);
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
    const res = await runCli([...args, ...at]);
    t.is(res.code, 1, args.join(' '));
    t.regex(res.stderr, expected);
  }

  const deleted = await runCli(['topic', 'delete', 'orders', ...at]);
  t.is(deleted.code, 0, deleted.stderr);
  const list = await runCli(['topic', 'list', ...at]);
  t.is(list.stdout.trim(), 'no topics');

  const usage = await runCli(['topic', 'create', ...at]);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /takes one topic name/);
  const unknown = await runCli(['topic', 'frobnicate', ...at]);
  t.is(unknown.code, 2);
  const unreachable = await runCli(['cluster', 'describe', '--bootstrap', '127.0.0.1:1', '--timeout-ms', '2000']);
  t.is(unreachable.code, 1);
  t.regex(unreachable.stderr, /NETWORK_EXCEPTION/);
});
