// The controller's pure core (KIP-500/631/966), for the controller machine to build on: records and the image they
// replay into, request handlers that turn requests into records, elections, placement, liveness, configs, snapshots.
export * from './records.js';
export * from './image.js';
export * from './commands.js';
export * from './queries.js';
export * from './election.js';
export * from './placement.js';
export * from './liveness.js';
export * from './topic-config.js';
export * from './pending.js';
export * from './snapshot.js';
export { ControllerInvariantError } from './invariant.js';
