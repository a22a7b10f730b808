// The client library's public surface: Producer and Consumer over any ClientChannel (runtime ports only, so the
// simulator can run them), and the real entry points in real.ts that wire them to WebSocket connections.
export { Producer, resolveProducerOptions } from './producer.js';
export type { ProducerOptions, ProducerDeps, ProducerRecord, RecordMetadata, SendCallback, ProducerState, Bytesish } from './producer.js';
export { Consumer } from './consumer.js';
export type { ConsumerOptions, ConsumerDeps, ConsumerRecord, AutoOffsetReset } from './consumer.js';
export type { TopicPartition } from './record-accumulator.js';
export type { ClientChannel, ClusterMetadata, BrokerNode, Acks } from './channel.js';
export { createWireChannel } from './wire-channel.js';
export type { WireChannelOptions } from './wire-channel.js';
export { murmur2, partitionForKey, toPositive } from './murmur2.js';
export { StickyPartitioner } from './sticky-partitioner.js';
export * from './errors.js';
