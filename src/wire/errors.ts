// The one table of error codes that cross the wire. Names follow Kafka's where one exists; `retriable` tells a
// client whether the same request may succeed later. Clients switch on `code`, never on the message.

export const errorTable = {
  UNKNOWN_SERVER_ERROR: { retriable: false, message: 'the server hit an unexpected error' },
  CORRUPT_MESSAGE: { retriable: false, message: 'the frame or record batch is corrupt (bad CRC, length or encoding)' },
  INVALID_REQUEST: { retriable: false, message: 'the request is malformed or not valid for this api' },
  UNSUPPORTED_VERSION: { retriable: false, message: 'the api or version is not supported by this node' },
  MESSAGE_TOO_LARGE: { retriable: false, message: 'the frame or batch is larger than the configured maximum' },
  RECORD_LIST_TOO_LARGE: { retriable: false, message: 'the request carries more records than allowed' },
  REQUEST_TIMED_OUT: { retriable: true, message: 'the request did not complete in time' },
  NETWORK_EXCEPTION: { retriable: true, message: 'the connection closed before a response arrived' },
  THROTTLING_QUOTA_EXCEEDED: { retriable: true, message: 'too many requests in flight; back off and retry' },
  KAFKA_STORAGE_ERROR: { retriable: true, message: 'the replica\'s log directory failed (disk full or I/O error)' },
  // Topics and partitions
  UNKNOWN_TOPIC_OR_PARTITION: { retriable: true, message: 'this node does not know that topic or partition' },
  UNKNOWN_TOPIC_ID: { retriable: true, message: 'this node does not know that topic id' },
  TOPIC_ALREADY_EXISTS: { retriable: false, message: 'a topic with that name exists' },
  INVALID_TOPIC_EXCEPTION: { retriable: false, message: 'the topic name is not valid' },
  INVALID_PARTITIONS: { retriable: false, message: 'the number of partitions is not valid' },
  INVALID_REPLICATION_FACTOR: { retriable: false, message: 'the replication factor is not valid for this cluster' },
  INVALID_REPLICA_ASSIGNMENT: { retriable: false, message: 'the replica assignment is not valid' },
  INVALID_CONFIG: { retriable: false, message: 'a configuration value is not valid' },
  POLICY_VIOLATION: { retriable: false, message: 'the request violates a configured policy' },
  // Leadership and replication
  NOT_LEADER_OR_FOLLOWER: { retriable: true, message: 'this node is not the leader (or a follower) of the partition' },
  LEADER_NOT_AVAILABLE: { retriable: true, message: 'the partition has no leader right now (election in progress)' },
  FENCED_LEADER_EPOCH: { retriable: true, message: 'the request\'s leader epoch is older than the current one' },
  UNKNOWN_LEADER_EPOCH: { retriable: true, message: 'the request\'s leader epoch is newer than this node knows' },
  OFFSET_OUT_OF_RANGE: { retriable: false, message: 'the offset is outside the log\'s range' },
  NOT_ENOUGH_REPLICAS: { retriable: true, message: 'fewer in-sync replicas than min.insync.replicas; nothing was written' },
  NOT_ENOUGH_REPLICAS_AFTER_APPEND: { retriable: true, message: 'written to the leader, but the ISR shrank below min.insync.replicas before it was replicated' },
  REPLICA_NOT_AVAILABLE: { retriable: true, message: 'the replica is not available on this node' },
  INCONSISTENT_TOPIC_ID: { retriable: true, message: 'the topic id does not match this node\'s' },
  INELIGIBLE_REPLICA: { retriable: false, message: 'the replica may not join the ISR now' },
  NEW_LEADER_ELECTED: { retriable: true, message: 'a new leader was elected while the request waited' },
  ELECTION_NOT_NEEDED: { retriable: false, message: 'the preferred leader already leads' },
  PREFERRED_LEADER_NOT_AVAILABLE: { retriable: true, message: 'the preferred leader is not in the ISR or not alive' },
  // Producers
  OUT_OF_ORDER_SEQUENCE_NUMBER: { retriable: false, message: 'the batch\'s sequence number is not the next one expected' },
  DUPLICATE_SEQUENCE_NUMBER: { retriable: false, message: 'the batch is a duplicate of one already written' },
  UNKNOWN_PRODUCER_ID: { retriable: false, message: 'the broker has no state for this producer id' },
  INVALID_PRODUCER_EPOCH: { retriable: false, message: 'the producer epoch is older than the current one' },
  PRODUCER_FENCED: { retriable: false, message: 'a newer producer with the same id fenced this one' },
  INVALID_REQUIRED_ACKS: { retriable: false, message: 'acks must be 0, 1 or -1 (all)' },
  INVALID_TIMESTAMP: { retriable: false, message: 'a record timestamp is out of the accepted range' },
  // Consumer groups
  COORDINATOR_NOT_AVAILABLE: { retriable: true, message: 'the group coordinator is not available' },
  NOT_COORDINATOR: { retriable: true, message: 'this node is not the coordinator of the group' },
  COORDINATOR_LOAD_IN_PROGRESS: { retriable: true, message: 'the coordinator is still loading group state' },
  ILLEGAL_GENERATION: { retriable: false, message: 'the generation id is not the group\'s current one' },
  UNKNOWN_MEMBER_ID: { retriable: false, message: 'the member id is not known to the group' },
  MEMBER_ID_REQUIRED: { retriable: false, message: 'rejoin with the member id the coordinator assigned' },
  REBALANCE_IN_PROGRESS: { retriable: false, message: 'the group is rebalancing; rejoin' },
  INCONSISTENT_GROUP_PROTOCOL: { retriable: false, message: 'the member\'s protocols do not match the group\'s' },
  INVALID_SESSION_TIMEOUT: { retriable: false, message: 'the session timeout is outside the broker\'s allowed range' },
  GROUP_MAX_SIZE_REACHED: { retriable: false, message: 'the group has the maximum number of members' },
  INVALID_GROUP_ID: { retriable: false, message: 'the group id is not valid' },
  GROUP_ID_NOT_FOUND: { retriable: false, message: 'no such group' },
  NON_EMPTY_GROUP: { retriable: false, message: 'the group has members' },
  OFFSET_METADATA_TOO_LARGE: { retriable: false, message: 'the commit metadata is too large' },
  // Metadata quorum (KIP-595) and controller
  NOT_CONTROLLER: { retriable: true, message: 'this node is not the active controller' },
  FENCED_MEMBER_EPOCH: { retriable: false, message: 'the member epoch is stale' },
  STALE_BROKER_EPOCH: { retriable: false, message: 'the broker epoch is older than the registered one' },
  BROKER_ID_NOT_REGISTERED: { retriable: false, message: 'no broker is registered with that id' },
  DUPLICATE_BROKER_REGISTRATION: { retriable: false, message: 'another live broker holds that id' },
  INCONSISTENT_CLUSTER_ID: { retriable: false, message: 'the cluster id does not match' },
  INCONSISTENT_VOTER_SET: { retriable: false, message: 'the voter set does not match this node\'s' },
  INVALID_UPDATE_VERSION: { retriable: false, message: 'the partition epoch is stale (optimistic version mismatch)' },
  OPERATION_NOT_ATTEMPTED: { retriable: false, message: 'the operation was not attempted' },
  SNAPSHOT_NOT_FOUND: { retriable: false, message: 'no snapshot with that id' },
  POSITION_OUT_OF_RANGE: { retriable: false, message: 'the snapshot position is out of range' },
  // Administrative
  CLUSTER_AUTHORIZATION_FAILED: { retriable: false, message: 'not authorized for that cluster operation' },
  RESOURCE_NOT_FOUND: { retriable: false, message: 'no such resource' },
  // Replication data plane (src/replication/)
  OFFSET_NOT_AVAILABLE: { retriable: true, message: 'a new leader has not yet established its high watermark; retry' },
  BROKER_NOT_AVAILABLE: { retriable: true, message: 'this broker is not registered with the controller yet; retry' },
} as const satisfies Record<string, { retriable: boolean; message: string }>;

export type ErrorCode = keyof typeof errorTable;

export const errorCodes = Object.keys(errorTable) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorTable, value);
}

export function isRetriable(code: ErrorCode): boolean {
  return errorTable[code].retriable;
}

/** The error as it travels: the code, whether to retry, and a message saying what was wrong in this case. */
export interface WireError {
  code: ErrorCode;
  retriable: boolean;
  message: string;
}

export function wireError(code: ErrorCode, detail?: string): WireError {
  const entry = errorTable[code];
  return { code, retriable: entry.retriable, message: detail ?? entry.message };
}

/** An error carrying a wire code, thrown inside a node and turned into an error response at the edge. */
export class RaftlineError extends Error {
  readonly retriable: boolean;
  constructor(
    readonly code: ErrorCode,
    detail?: string,
    options?: { cause?: unknown },
  ) {
    super(detail ?? errorTable[code].message, options);
    this.name = 'RaftlineError';
    this.retriable = errorTable[code].retriable;
  }

  toWire(): WireError {
    return { code: this.code, retriable: this.retriable, message: this.message };
  }
}

/**
 * NOT_CONTROLLER naming the controller the refusing node knows, so a broker follows it in one hop instead of trying the
 * voters in turn. The id travels beside the error's code as `leaderId` (see WireErrorSchema); clients read the field,
 * never the message.
 */
export class NotControllerError extends RaftlineError {
  constructor(
    detail: string,
    readonly leaderId: number | null,
  ) {
    super('NOT_CONTROLLER', detail);
    this.name = 'NotControllerError';
  }

  override toWire(): WireError & { leaderId?: number } {
    return this.leaderId === null ? super.toWire() : { ...super.toWire(), leaderId: this.leaderId };
  }
}
