// Randomized fault injection: many seeds × random crashes (half of them seen as connection resets), restarts, partitions,
// false "connection reset" reports, message loss and log compaction against a 3- or
// 5-voter quorum with an observer. The harness checks safety on every step (one leader per epoch, committed entries
// never conflict and are in every later leader's log, Log Matching, quorum state survives restarts, and the
// machine's own invariants); after healing, a working leader must appear within 5 s of virtual time.
import test from 'ava';
import { Cluster, SeededRandom } from './harness.js';

const seeds = Number(process.env.RAFT_CHAOS_SEEDS ?? 40);
const chaosSteps = 40;
const stepMs = 250;
const recoveryLimitMs = 5_000;
const convergenceLimitMs = 6_000;

interface RunResult {
  failures: string[];
  recoveryMs: number | null;
  committed: number;
  trace: string[];
}

async function chaosRun(seed: number): Promise<RunResult> {
  const rnd = new SeededRandom(seed * 7919 + 17);
  const voters = rnd.next() < 0.5 ? 3 : 5;
  const cluster = new Cluster({ seed, voters, observers: 1 });
  const ids = [...cluster.members.keys()];
  const pick = <T>(xs: T[]): T | undefined => xs[rnd.int(xs.length)];
  let n = 0;
  for (let step = 0; step < chaosSteps && cluster.failures.length === 0; step++) {
    const r = rnd.next();
    if (r < 0.12) {
      const up = ids.filter((id) => cluster.isUp(id));
      const victim = pick(up);
      if (victim !== undefined) {
        cluster.crash(victim);
        // Half the crashes are seen as connection resets by the peers (fast failover); the rest only as silence.
        if (rnd.next() < 0.5) for (const id of ids) if (id !== victim && cluster.isUp(id)) cluster.reportUnreachable(id, victim);
      }
    } else if (r < 0.24) {
      const down = ids.filter((id) => !cluster.isUp(id));
      const back = pick(down);
      if (back !== undefined) cluster.restart(back);
    } else if (r < 0.34) {
      const shuffled = [...ids].sort(() => rnd.next() - 0.5);
      const cut = 1 + rnd.int(ids.length - 1);
      cluster.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
    } else if (r < 0.42) {
      cluster.heal();
    } else if (r < 0.5) {
      cluster.dropRate = rnd.next() * 0.2;
    } else if (r < 0.56) {
      // Compaction on any node (KIP-630): laggards must then catch up through FetchSnapshot.
      const node = pick(ids.filter((id) => cluster.isUp(id)));
      if (node !== undefined) await cluster.snapshot(node).catch(() => undefined);
    } else if (r < 0.62) {
      // A false alarm: a node hears that its connection to a live peer (perhaps its leader) reset.
      const at = pick(ids.filter((id) => cluster.isUp(id)));
      const peer = pick(ids);
      if (at !== undefined && peer !== undefined && peer !== at) cluster.reportUnreachable(at, peer);
    }
    const leader = cluster.leader();
    if (leader !== null) await cluster.propose(leader.id, `s${seed}-${n++}`);
    const someone = pick(ids);
    if (someone !== undefined) await cluster.propose(someone, `s${seed}-${n++}`);
    await cluster.tick(stepMs);
    cluster.checkLogs();
  }
  // Heal everything; a working leader (one that committed its own LeaderChange record) must follow quickly.
  cluster.heal();
  cluster.dropRate = 0;
  for (const id of ids) cluster.restart(id);
  const healedAt = cluster.clock.now();
  let recoveryMs: number | null = null;
  while (cluster.clock.now() - healedAt <= recoveryLimitMs && cluster.failures.length === 0) {
    if (cluster.workingLeader() !== null) {
      recoveryMs = cluster.clock.now() - healedAt;
      break;
    }
    await cluster.tick(10);
    cluster.checkLogs();
  }
  // Once healed, a proposal to the leader commits and every node, observers included, converges on its log.
  const leader = cluster.workingLeader();
  let converged = leader === null;
  if (leader !== null) {
    await cluster.propose(leader, `s${seed}-final`);
    const since = cluster.clock.now();
    while (!converged && cluster.clock.now() - since <= convergenceLimitMs && cluster.failures.length === 0) {
      await cluster.tick(50);
      cluster.checkLogs();
      converged = cluster.converged();
    }
  }
  if (!converged) cluster.failures.push(`nodes did not converge on one leader's log: ${ids.map((id) => cluster.status(id)).join(', ')}`);
  return { failures: cluster.failures.map(String), recoveryMs, committed: cluster.committedCount(), trace: cluster.trace };
}

test(`raft chaos: ${seeds} seeds of crashes, partitions and loss keep every safety property and recover within 5 s`, async (t) => {
  const recoveries: number[] = [];
  let committed = 0;
  let snapshotsInstalled = 0;
  for (let seed = 1; seed <= seeds; seed++) {
    const result = await chaosRun(seed);
    snapshotsInstalled += result.trace.filter((l) => l.includes('installed snapshot')).length;
    if (result.failures.length > 0) {
      t.fail(`seed ${seed}: ${result.failures.join('; ')}`);
      return;
    }
    if (result.recoveryMs === null) {
      t.fail(`seed ${seed}: no working leader within ${recoveryLimitMs} ms of healing`);
      return;
    }
    recoveries.push(result.recoveryMs);
    committed += result.committed;
  }
  recoveries.sort((a, b) => a - b);
  t.log(
    `recovery after heal: median ${recoveries[Math.floor(recoveries.length / 2)]} ms, max ${recoveries.at(-1)} ms; ` +
      `${committed} committed entries checked; ${snapshotsInstalled} snapshots installed by followers`,
  );
  // The runs must actually exercise replication, or the safety checks above prove little.
  t.true(committed > seeds * 10);
});

test('raft chaos: the same seed replays to the same trace (determinism)', async (t) => {
  const first = await chaosRun(7);
  const second = await chaosRun(7);
  t.true(first.trace.length > 20);
  t.deepEqual(second.trace, first.trace);
});
