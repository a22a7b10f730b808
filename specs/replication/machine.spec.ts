// The `partition-replica` role chart on its own: which assignments move it, and which it ignores.
import test from 'ava';
import { createActor } from 'xstate';
import { partitionReplicaMachine, type PartitionAssignment } from '../../src/replication/machine.js';

function chart(brokerId = 1) {
  const calls: string[] = [];
  const actor = createActor(partitionReplicaMachine, {
    input: {
      brokerId,
      ports: {
        becomeLeader: (a) => calls.push(`leader@${a.leaderEpoch}`),
        becomeFollower: (a) => calls.push(`follower(${a.leaderId})@${a.leaderEpoch}`),
        becomeOffline: (a) => calls.push(`offline@${a.leaderEpoch}`),
        partitionChanged: (a) => calls.push(`isr[${a.isr.join(',')}]@${a.partitionEpoch}`),
        stop: () => calls.push('stop'),
      },
    },
  });
  actor.start();
  const assign = (leaderId: number, leaderEpoch: number, partitionEpoch: number, isr: number[]): void =>
    actor.send({ type: 'replica.assignment', assignment: { leaderId, leaderEpoch, partitionEpoch, replicas: [1, 2, 3], isr } satisfies PartitionAssignment });
  return { actor, calls, assign };
}

test('replica chart: roles change only for a newer leader epoch, the ISR only for a newer partition epoch', (t) => {
  const { actor, calls, assign } = chart();
  assign(1, 0, 0, [1, 2, 3]);
  assign(1, 0, 1, [1, 2]);
  assign(1, 0, 1, [1, 2]);
  assign(2, 0, 0, [2, 3]);
  assign(2, 1, 2, [2, 3]);
  assign(1, 0, 3, [1]);
  assign(-1, 2, 3, []);
  assign(1, 3, 4, [1]);
  actor.send({ type: 'replica.stop' });
  assign(2, 9, 9, [2]);
  t.deepEqual(calls, ['leader@0', 'isr[1,2]@1', 'follower(2)@1', 'offline@2', 'leader@3', 'stop']);
  t.is(actor.getSnapshot().status, 'done');
});

test('replica chart: a leader not in its own ISR is a broken invariant that stops the chart with an error', (t) => {
  const { actor, calls, assign } = chart();
  const errors: unknown[] = [];
  actor.subscribe({ error: (err) => errors.push(err) });
  assign(1, 0, 0, [2, 3]);
  t.is(actor.getSnapshot().status, 'error');
  t.regex(String(errors[0]), /not in ISR/);
  t.deepEqual(calls, [], 'the host was never told to lead');
});
