// `raftline produce` and `raftline consume` (dist/cli.js) against the fake in-process cluster on 127.0.0.1: stdin
// lines become records (key:value with --key-separator), consume prints them back as text or JSON and exits after
// --count or --idle-ms, a broker's refusal exits 1 with its code, and a bad command line exits 2.
import test from 'ava';
import { partitionForKey } from '../../src/client/murmur2.js';
import { runCli } from '../helpers/broker-process.js';
import { startFakeCluster } from '../helpers/fake-data-cluster.js';

test('cli: produce key:value lines, then consume them back from the beginning as text and as JSON', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('cli', 3);
  const at = ['--bootstrap', cluster.addresses[0]!];
  const lines = Array.from({ length: 12 }, (_, i) => `user-${i % 4}:event ${i}`);
  const produced = await runCli(['produce', 'cli', '--key-separator', ':', '--format', 'json', ...at], `${lines.join('\n')}\n`);
  t.is(produced.code, 0, produced.stderr);
  const summary = JSON.parse(produced.stdout) as { records: number; partitions: Array<{ partition: number; count: number }> };
  t.is(summary.records, 12);
  for (let k = 0; k < 4; k++) {
    const p = partitionForKey(Buffer.from(`user-${k}`), 3);
    t.true(cluster.values('cli', p).includes(`event ${k}`), `user-${k} went to partition ${p}`);
  }

  const text = await runCli(['consume', 'cli', '--from', 'beginning', '--count', '12', ...at]);
  t.is(text.code, 0, text.stderr);
  t.deepEqual(text.stdout.trim().split('\n').sort(), lines.map((l) => l.split(':')[1]!).sort());

  const json = await runCli(['consume', 'cli', '--partition', String(partitionForKey(Buffer.from('user-1'), 3)), '--from', '0', '--format', 'json', '--idle-ms', '300', ...at]);
  t.is(json.code, 0, json.stderr);
  const records = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { key: string; value: string; offset: number });
  t.true(records.length >= 3);
  t.deepEqual(records.map((r) => r.offset), records.map((_, i) => i), 'offsets from 0, in order');
  t.true(records.filter((r) => r.key === 'user-1').map((r) => r.value).join() === 'event 1,event 5,event 9');
  t.regex(json.stderr, /consumed \d+ records from cli/);
});

test('cli: produce sends more lines than its window of unanswered records (10 000) and every one lands once, in order', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('many', 1);
  const count = 25_000;
  const lines = Array.from({ length: count }, (_, i) => `line ${i}`);
  const produced = await runCli(['produce', 'many', '--format', 'json', '--bootstrap', cluster.addresses[0]!], `${lines.join('\n')}\n`);
  t.is(produced.code, 0, produced.stderr);
  const summary = JSON.parse(produced.stdout) as { records: number; partitions: Array<{ partition: number; first: number; last: number; count: number }> };
  t.is(summary.records, count);
  t.deepEqual(summary.partitions, [{ partition: 0, first: 0, last: count - 1, count }]);
  t.deepEqual(cluster.values('many', 0), lines);
});

test('cli: produce to a fixed partition with acks=1; errors exit 1 with their code, bad flags exit 2', async (t) => {
  const cluster = await startFakeCluster(t);
  cluster.createTopic('fixed', 2);
  const at = ['--bootstrap', cluster.addresses[2]!];
  const ok = await runCli(['produce', 'fixed', '--partition', '1', '--acks', '1', ...at], 'a\nb\n');
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /produced 2 records to fixed \(partition 1 offsets 0-1\)/);
  t.deepEqual(cluster.values('fixed', 1), ['a', 'b']);

  const unknown = await runCli(['consume', 'missing', ...at]);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /^raftline: UNKNOWN_TOPIC_OR_PARTITION: /);

  cluster.failProduce('fixed', 0, [{ code: 'INVALID_TIMESTAMP' }]);
  const refused = await runCli(['produce', 'fixed', '--partition', '0', ...at], 'x\n');
  t.is(refused.code, 1);
  t.regex(refused.stderr, /^raftline: INVALID_TIMESTAMP: /);

  const noSeparator = await runCli(['produce', 'fixed', '--key-separator', ':', ...at], 'no separator here\n');
  t.is(noSeparator.code, 2);
  t.regex(noSeparator.stderr, /line 1 has no key separator/);
  for (const args of [['produce', 'fixed', '--acks', '2'], ['consume', 'fixed', '--from', 'middle']]) {
    const bad = await runCli([...args, ...at]);
    t.is(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
  }
  const outOfRange = await runCli(['consume', 'fixed', '--partition', '1', '--from', '99', '--idle-ms', '2000', ...at]);
  t.is(outOfRange.code, 1);
  t.regex(outOfRange.stderr, /^raftline: OFFSET_OUT_OF_RANGE: /);
});
