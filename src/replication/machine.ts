// The role chart of one partition replica (`partition-replica`): `offline` (no leader known, or not yet told),
// `follower` (fetching from the leader the metadata image names), `leader` (serving produce and fetch), `stopped`.
// It decides; the host (replica.ts) acts, through the named actions' ports. Keeps: a replica changes role or leader
// only for a newer leader epoch, and takes ISR changes only for a newer partition epoch, so a stale image (or an
// AlterPartition answer that the image already covers) never moves it backwards.
import { and, assign, setup } from 'xstate';
import { invariant } from './isr.js';

export const partitionReplicaMachineId = 'partition-replica';

/** A partition's state as the metadata image (or an AlterPartition answer) gives it. */
export interface PartitionAssignment {
  readonly leaderId: number;
  readonly leaderEpoch: number;
  readonly partitionEpoch: number;
  readonly replicas: readonly number[];
  readonly isr: readonly number[];
}

/** What the chart asks the host to do. Each is called once per transition, after the context is updated. */
export interface ReplicaRolePorts {
  becomeLeader(assignment: PartitionAssignment): void;
  becomeFollower(assignment: PartitionAssignment): void;
  /** No leader: serve nothing, fetch from nobody. */
  becomeOffline(assignment: PartitionAssignment): void;
  /** Same leader and leader epoch, newer partition epoch: the ISR (or replica set) changed. */
  partitionChanged(assignment: PartitionAssignment): void;
  stop(): void;
}

export interface ReplicaRoleContext {
  readonly brokerId: number;
  readonly ports: ReplicaRolePorts;
  assignment: PartitionAssignment;
}

export type ReplicaRoleEvent =
  | { type: 'replica.assignment'; assignment: PartitionAssignment }
  | { type: 'replica.stop' };

const none: PartitionAssignment = { leaderId: -1, leaderEpoch: -1, partitionEpoch: -1, replicas: [], isr: [] };

export const partitionReplicaMachine = setup({
  types: {
    context: {} as ReplicaRoleContext,
    events: {} as ReplicaRoleEvent,
    input: {} as { brokerId: number; ports: ReplicaRolePorts },
  },
  guards: {
    isNewerLeaderEpoch: ({ context, event }) => event.type === 'replica.assignment' && event.assignment.leaderEpoch > context.assignment.leaderEpoch,
    isNewerPartitionEpoch: ({ context, event }) =>
      event.type === 'replica.assignment' &&
      event.assignment.leaderEpoch === context.assignment.leaderEpoch &&
      event.assignment.partitionEpoch > context.assignment.partitionEpoch,
    namesThisBroker: ({ context, event }) => event.type === 'replica.assignment' && event.assignment.leaderId === context.brokerId,
    namesAnotherLeader: ({ context, event }) => event.type === 'replica.assignment' && event.assignment.leaderId !== context.brokerId && event.assignment.leaderId >= 0,
  },
  actions: {
    recordAssignment: assign({
      assignment: ({ context, event }) => {
        invariant(event.type === 'replica.assignment', 'recordAssignment on another event');
        const a = event.assignment;
        invariant(a.leaderEpoch >= context.assignment.leaderEpoch, () => `leader epoch went back from ${context.assignment.leaderEpoch} to ${a.leaderEpoch}`);
        invariant(a.leaderId === -1 || a.isr.includes(a.leaderId), () => `leader ${a.leaderId} not in ISR ${JSON.stringify(a.isr)}`);
        return { ...a, replicas: [...a.replicas], isr: [...a.isr] };
      },
    }),
    actAsLeader: ({ context }) => context.ports.becomeLeader(context.assignment),
    actAsFollower: ({ context }) => context.ports.becomeFollower(context.assignment),
    actAsOffline: ({ context }) => context.ports.becomeOffline(context.assignment),
    actOnPartitionChange: ({ context }) => context.ports.partitionChanged(context.assignment),
    actOnStop: ({ context }) => context.ports.stop(),
  },
}).createMachine({
  id: partitionReplicaMachineId,
  context: ({ input }) => ({ brokerId: input.brokerId, ports: input.ports, assignment: none }),
  initial: 'unassigned',
  on: {
    'replica.assignment': [
      { guard: and(['isNewerLeaderEpoch', 'namesThisBroker']), target: '.leader', reenter: true, actions: 'recordAssignment' },
      { guard: and(['isNewerLeaderEpoch', 'namesAnotherLeader']), target: '.follower', reenter: true, actions: 'recordAssignment' },
      { guard: 'isNewerLeaderEpoch', target: '.offline', reenter: true, actions: 'recordAssignment' },
      { guard: 'isNewerPartitionEpoch', actions: ['recordAssignment', 'actOnPartitionChange'] },
    ],
    'replica.stop': { target: '.stopped' },
  },
  states: {
    /** Created, no assignment seen yet. */
    unassigned: {},
    /** The partition has no leader (or this replica's last word was a leader of -1). */
    offline: { entry: 'actAsOffline' },
    follower: { entry: 'actAsFollower' },
    leader: { entry: 'actAsLeader' },
    stopped: { type: 'final', entry: 'actOnStop' },
  },
});
