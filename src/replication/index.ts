// The replication data plane's public surface: the replica manager a broker composes, its handlers, and the pieces
// specs and the simulator reach for.
export { ReplicaManager, defaultReplicationSettings } from './replica-manager.js';
export type { ReplicaManagerOptions, ReplicationControllerPort, ReplicationSettings, ReplicaStatus } from './replica-manager.js';
export { dataHandlers } from './handlers.js';
export { PartitionReplica } from './replica.js';
export type { IsrAnswer, IsrProposal, AppendOutcome, ReplicaRole } from './replica.js';
export type { FetchSender } from './fetcher.js';
export { partitionReplicaMachine, partitionReplicaMachineId } from './machine.js';
export { ProducerStateTable } from './producer-state.js';
