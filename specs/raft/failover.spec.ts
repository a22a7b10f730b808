// Failover time: over many seeds, crash the leader of a healthy 3- or 5-voter quorum and measure how long until a
// new leader has committed its LeaderChange record. Followers need the fetch timeout (2 s) to give up on it, then
// a pre-vote and a vote round; the bound asserted is that plus one randomised election timeout (2 s) and slack.
import test from 'ava';
import { Cluster } from './harness.js';

const boundMs = 5_000;

async function failover(seed: number, voters: number): Promise<number | null> {
  const cluster = new Cluster({ seed, voters, trace: false });
  await cluster.tick(4_000);
  const old = cluster.workingLeader();
  if (old === null) return null;
  await cluster.propose(old, 'before');
  await cluster.tick(200);
  cluster.crash(old);
  const crashedAt = cluster.clock.now();
  while (cluster.clock.now() - crashedAt <= boundMs) {
    await cluster.tick(10);
    cluster.checkLogs();
    const now = cluster.workingLeader();
    if (now !== null && now !== old) return cluster.failures.length === 0 ? cluster.clock.now() - crashedAt : null;
  }
  return null;
}

for (const voters of [3, 5]) {
  test(`raft failover: with ${voters} voters a crashed leader is replaced within ${boundMs} ms`, async (t) => {
    const times: number[] = [];
    for (let seed = 1; seed <= 12; seed++) {
      const ms = await failover(seed, voters);
      if (ms === null) {
        t.fail(`seed ${seed}: no new leader within ${boundMs} ms (or a safety failure)`);
        return;
      }
      times.push(ms);
    }
    times.sort((a, b) => a - b);
    t.log(`failover with ${voters} voters: min ${times[0]} ms, median ${times[6]} ms, max ${times.at(-1)} ms`);
    // It cannot be faster than the fetch timeout: followers must first give up on the old leader.
    t.true((times[0] ?? 0) >= 1_800);
  });
}
