// Real entry points: a Producer or Consumer connected over WebSocket (src/runtime/real/) to the bootstrap nodes.
// Everything else in src/client/ receives its ports; only this file picks the real ones. Logs go to stderr, so a
// program writing records to stdout (raftline consume) keeps its output clean.
import { createLogger, createRealNetwork, createRealRandom, realClock } from '../runtime/real/index.js';
import type { Logger } from '../runtime/logger.js';
import { Consumer, type ConsumerOptions } from './consumer.js';
import { Producer, type ProducerOptions } from './producer.js';
import { createWireChannel } from './wire-channel.js';

export interface ConnectOptions {
  /** One or more "host:port" of cluster nodes. */
  bootstrap: readonly string[];
  /** Time one request may take before REQUEST_TIMED_OUT (default 30 s). */
  requestTimeoutMs?: number;
  log?: Logger;
}

function channelFor(options: ConnectOptions, log: Logger) {
  return createWireChannel({
    bootstrap: options.bootstrap,
    network: createRealNetwork({ log: log.child({ component: 'network' }) }),
    clock: realClock,
    log,
    requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
  });
}

export function createProducer(options: ProducerOptions & ConnectOptions): Producer {
  const log = options.log ?? createLogger({ nodeId: options.clientId ?? 'producer', level: 'warn', destination: process.stderr });
  const producerOptions: ProducerOptions = { ...options };
  if (options.requestTimeoutMs !== undefined) producerOptions.requestTimeoutMs = options.requestTimeoutMs;
  return new Producer(producerOptions, { channel: channelFor(options, log), clock: realClock, random: createRealRandom(), log });
}

export function createConsumer(options: ConsumerOptions & ConnectOptions): Consumer {
  const log = options.log ?? createLogger({ nodeId: options.clientId ?? 'consumer', level: 'warn', destination: process.stderr });
  return new Consumer(options, { channel: channelFor(options, log), clock: realClock, log });
}
