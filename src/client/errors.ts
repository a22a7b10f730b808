// Errors a client raises on its own side of the wire (nothing broker-side went wrong). Callers switch on the class
// or `code`; errors a broker answered with stay RaftlineError with their wire code (src/wire/errors.ts).

export class ClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** buffer.memory is used up by records not yet acknowledged; the caller should slow down (or await sends). */
export class BufferExhaustedError extends ClientError {
  constructor(bufferedBytes: number, bufferBytesMax: number) {
    super('BUFFER_EXHAUSTED', `the producer holds ${bufferedBytes} bytes of unsent records; buffer.memory is ${bufferBytesMax}`);
  }
}

/** The producer or consumer was closed; the record was not sent (or the call cannot run). */
export class ClientClosedError extends ClientError {
  constructor(what: string) {
    super('CLIENT_CLOSED', `${what}: the client is closed`);
  }
}

/** A record waited longer than delivery.timeout.ms without an acknowledgement (Kafka's TimeoutException). */
export class DeliveryTimeoutError extends ClientError {
  constructor(topic: string, partition: number, waitedMs: number, options?: { cause?: unknown }) {
    super('DELIVERY_TIMEOUT', `record for ${topic}-${partition} expired after ${waitedMs} ms without an acknowledgement (delivery.timeout.ms)`, options);
  }
}

/** A topic the cluster does not know, after metadata waits of max.block.ms. */
export class UnknownTopicError extends ClientError {
  constructor(topic: string, waitedMs: number) {
    super('UNKNOWN_TOPIC_OR_PARTITION', `topic ${JSON.stringify(topic)} is not in the cluster's metadata after ${waitedMs} ms`);
  }
}

/** The consumer's position is outside the log and auto.offset.reset is none. */
export class OffsetOutOfRangeError extends ClientError {
  constructor(readonly partitions: ReadonlyArray<{ topic: string; partition: number; offset: number }>) {
    super('OFFSET_OUT_OF_RANGE', `offsets out of range with auto.offset.reset=none: ${partitions.map((p) => `${p.topic}-${p.partition}@${p.offset}`).join(', ')}`);
  }
}

/** A configuration value is not allowed; names the key, the value and what is allowed. */
export class ClientConfigError extends ClientError {
  constructor(key: string, value: unknown, allowed: string) {
    super('INVALID_CONFIG', `${key}=${JSON.stringify(value)} is not allowed: ${allowed}`);
  }
}
