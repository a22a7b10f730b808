// Controller failover with real broker processes: three nodes on 127.0.0.1 run the metadata quorum with Kafka's
// default timeouts; the active controller is killed with SIGKILL again and again (and restarted each time), and the
// time until `metadata-quorum status` from a surviving node names a new leader is measured. The followers see the
// dead leader's connections reset and pre-vote early, so it is well under the 2 s fetch timeout. Topics created
// before each kill must still be described afterwards. Every process started here is stopped by PID.
import test from 'ava';
import { parseCommandArgs } from '../../src/cli/args.js';
import { commonFlags, createContext, type CliCommand } from '../../src/cli/command.js';
import { clusterCommands } from '../../src/cli/commands/cluster.js';
import { topicCommands } from '../../src/cli/commands/topic.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { freePorts, startBroker, tempDir, type BrokerProcess } from '../helpers/broker-process.js';

const kills = Number(process.env.RAFTLINE_FAILOVER_KILLS ?? 5);
/**
 * The target with default settings. The spec fails when the median kill waits out the fetch timeout (2 s):
 * that is what happens to every kill if the followers stop pre-voting on the dead leader's reset connections. One kill
 * of five may be slower on a loaded machine (one took just over 2 s at load 6), so the slowest is held to twice that.
 */
const targetMs = 1_500;
const failMs = 2_000;

/** Runs one CLI command in this process (the very code of dist/cli.js, without a process start per poll). */
async function cli(words: string[], bootstrap: string, timeoutMs = 1_000): Promise<unknown> {
  const commands: CliCommand[] = [...clusterCommands, ...topicCommands];
  const command = commands.find((c) => c.path.every((w, i) => words[i] === w));
  if (command === undefined) throw new Error(`no command ${words.join(' ')}`);
  const args = parseCommandArgs([...words.slice(command.path.length), '--bootstrap', bootstrap, '--format', 'json', '--timeout-ms', String(timeoutMs)], {
    ...command.flags,
    ...commonFlags,
  });
  let out = '';
  const { ctx, close } = createContext(args, (text) => (out += text));
  try {
    await command.run(ctx);
  } finally {
    close();
  }
  return JSON.parse(out) as unknown;
}

async function quorumLeader(bootstrap: string): Promise<{ leaderId: number; leaderEpoch: number } | null> {
  try {
    const answer = (await cli(['metadata-quorum', 'status'], bootstrap, 500)) as { leaderId: number | null; leaderEpoch: number };
    return answer.leaderId === null ? null : { leaderId: answer.leaderId, leaderEpoch: answer.leaderEpoch };
  } catch {
    return null; // no leader yet, or the node asked is the dead one
  }
}

async function until<T>(ms: number, what: string, poll: () => Promise<T | null>, everyMs = 10): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await poll();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

test.serial('failover: kill -9 of the active controller, repeatedly: a new leader is named well within the fetch timeout and no topic is lost', async (t) => {
  t.timeout(60_000);
  const ports = await freePorts(3);
  const ids = [1, 2, 3];
  const quorum = ids.map((id, i) => `${id}@127.0.0.1:${ports[i]}`).join(',');
  const address = (id: number): string => `127.0.0.1:${ports[id - 1]}`;
  const dataDirs = new Map(ids.map((id) => [id, tempDir(`failover-${id}`)]));
  const procs = new Map<number, BrokerProcess>();
  const start = async (id: number): Promise<void> => {
    procs.set(id, await startBroker(t, ['--node-id', String(id), '--controller-quorum', quorum], { dataDir: dataDirs.get(id)! }));
  };
  await Promise.all(ids.map(start));

  let leader = await until(20_000, 'a first leader', () => quorumLeader(address(1)), 50);
  const created: string[] = [];
  const delays: number[] = [];
  for (let round = 0; round < kills; round++) {
    const topic = `failover-${round}`;
    await until(10_000, `topic ${topic} created`, async () => {
      try {
        return await cli(['topic', 'create', topic, '--partitions', '1', '--replication-factor', '1'], address(leader.leaderId), 2_000);
      } catch (err) {
        // A retried create whose first attempt committed: the topic is there, which is all we need.
        if (err instanceof RaftlineError && err.code === 'TOPIC_ALREADY_EXISTS') return true;
        return null;
      }
    }, 50);
    created.push(topic);

    const victim = procs.get(leader.leaderId)!;
    const survivor = ids.find((id) => id !== leader.leaderId)!;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    const next = await until(10_000, 'a new leader', async () => {
      const seen = await quorumLeader(address(survivor));
      return seen !== null && seen.leaderId !== leader.leaderId && seen.leaderEpoch > leader.leaderEpoch ? seen : null;
    });
    const elapsed = Date.now() - killedAt;
    delays.push(elapsed);
    t.log(`kill ${round + 1}: node ${leader.leaderId} (epoch ${leader.leaderEpoch}) → node ${next.leaderId} (epoch ${next.leaderEpoch}) in ${elapsed} ms`);
    await victim.exited;

    // Every topic created so far is still there, described by the new leader.
    for (const name of created) {
      const described = (await until(5_000, `topic ${name} described`, async () => {
        try {
          return await cli(['topic', 'describe', name], address(next.leaderId), 2_000);
        } catch {
          return null;
        }
      }, 50)) as { name: string } | Array<{ name: string }>;
      t.true(JSON.stringify(described).includes(name), `topic ${name} after kill ${round + 1}`);
    }
    await start(leader.leaderId);
    leader = next;
  }
  const sorted = [...delays].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const max = sorted.at(-1)!;
  t.log(`new leader named after kill -9: median ${median} ms, max ${max} ms over ${kills} kills (target ≤ ${targetMs} ms)`);
  t.true(median < failMs, `median ${median} ms; waiting out the fetch timeout alone gives 2000 ms or more`);
  t.true(max < 2 * failMs, `max ${max} ms`);
});

interface Described {
  partitions: Array<{ partitionId: number; leader: number; isr: number[] }>;
}

test.serial('failover: kill -9 of a broker-only node: the controller fences it and its partitions get new leaders within 3 s', async (t) => {
  t.timeout(40_000);
  const ports = await freePorts(4);
  const quorum = [1, 2, 3].map((id) => `${id}@127.0.0.1:${ports[id - 1]}`).join(',');
  const address = (id: number): string => `127.0.0.1:${ports[id - 1]}`;
  await Promise.all([1, 2, 3].map((id) => startBroker(t, ['--node-id', String(id), '--controller-quorum', quorum])));
  const brokerOnly = await startBroker(t, ['--node-id', '4', '--roles', 'broker', '--controller-quorum', quorum, '--listeners', address(4)]);
  const leader = await until(20_000, 'a first leader', () => quorumLeader(address(1)), 50);
  // Wait until node 4 is registered and unfenced, so that placement gives it replicas.
  await until(15_000, 'node 4 unfenced', async () => {
    try {
      const cluster = (await cli(['cluster', 'describe'], address(leader.leaderId))) as { brokers: Array<{ brokerId: number; fenced: boolean }> };
      return cluster.brokers.some((b) => b.brokerId === 4 && !b.fenced) ? true : null;
    } catch {
      return null;
    }
  }, 50);
  await cli(['topic', 'create', 'broker-kill', '--partitions', '8', '--replication-factor', '2'], address(leader.leaderId), 5_000);
  const describe = async (): Promise<Described | null> => {
    try {
      return (await cli(['topic', 'describe', 'broker-kill'], address(leader.leaderId), 1_000)) as Described;
    } catch {
      return null;
    }
  };
  const before = await until(5_000, 'the topic described with leaders', async () => {
    const d = await describe();
    return d !== null && d.partitions.every((p) => p.leader !== -1) ? d : null;
  }, 50);
  const led = before.partitions.filter((p) => p.leader === 4).map((p) => p.partitionId);
  t.true(led.length > 0, `node 4 leads some partition: ${JSON.stringify(before.partitions)}`);

  const killedAt = Date.now();
  brokerOnly.child.kill('SIGKILL');
  const after = await until(10_000, 'new leaders for node 4\'s partitions', async () => {
    const d = await describe();
    return d !== null && d.partitions.filter((p) => led.includes(p.partitionId)).every((p) => p.leader !== 4) ? d : null;
  }, 20);
  const elapsed = Date.now() - killedAt;
  await brokerOnly.exited;
  t.log(`broker-only kill -9: leadership of ${led.length} partitions moved off node 4 in ${elapsed} ms`);
  for (const p of after.partitions.filter((q) => led.includes(q.partitionId))) {
    t.false(p.isr.includes(4), `partition ${p.partitionId}: the fenced broker left the ISR`);
    t.not(p.leader, 4);
  }
  t.true(elapsed < 3_000, `moved in ${elapsed} ms`);
});
