// In-process frames (the simulator's default): a frame carries a private copy of its envelope instead of CBOR bytes,
// the receiver gets it without decoding or validation, every delivery gets its own copy, and the mode is off unless
// a host turns it on.
import test from 'ava';
import { InProcessFrame, inProcessFramesEnabled, setInProcessFrames } from '../../src/wire/in-process.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { wireRegistry } from '../../src/wire/registry.js';

/** Runs `body` with in-process frames on, restoring the previous mode (specs in one file run one at a time here). */
function inProcess<T>(body: () => T): T {
  const was = setInProcessFrames(true);
  try {
    return body();
  } finally {
    setInProcessFrames(was);
  }
}

test.serial('in-process frames: off by default, so frames are CBOR bytes', (t) => {
  t.false(inProcessFramesEnabled());
  const frame = wireRegistry.encodeRequest('node.ping', 7, { payload: new Uint8Array([1, 2]) });
  t.false(frame instanceof InProcessFrame);
  t.true(frame.byteLength > 0);
});

test.serial('in-process frames: the receiver gets the request as sent, without a byte on the wire', (t) => {
  const payload = new Uint8Array([1, 2, 3]);
  const frame = inProcess(() => wireRegistry.encodeRequest('node.ping', 7, { payload }));
  t.true(frame instanceof InProcessFrame);
  t.is(frame.byteLength, 0, 'an empty frame: a real network would reject it as CORRUPT_MESSAGE');
  t.true((frame as InProcessFrame).sizeBytes > payload.byteLength, 'the size estimate counts the payload and the envelope');
  const decoded = wireRegistry.decodeRequest(frame);
  if (!decoded.ok) return t.fail(decoded.rejection.reason);
  t.is(decoded.value.api, 'node.ping');
  t.is(decoded.value.cid, 7);
  t.deepEqual([...(decoded.value.body as { payload: Uint8Array }).payload], [1, 2, 3]);
});

test.serial('in-process frames: the copy is taken when the frame is built, so later changes by the sender do not travel', (t) => {
  const payload = new Uint8Array([1, 2, 3]);
  const body = { payload };
  const frame = inProcess(() => wireRegistry.encodeRequest('node.ping', 1, body));
  payload[0] = 99;
  body.payload = new Uint8Array([5]);
  const decoded = wireRegistry.decodeRequest(frame);
  if (!decoded.ok) return t.fail(decoded.rejection.reason);
  t.deepEqual([...(decoded.value.body as { payload: Uint8Array }).payload], [1, 2, 3]);
});

test.serial('in-process frames: a second delivery of one frame gets its own copy, so receivers share nothing', (t) => {
  const frame = inProcess(() => wireRegistry.encodeEvent('raft.fetch.request', { from: 1, correlationId: 3, body: { replicaId: 1, replicaEpoch: 2, fetchOffset: 0, lastFetchedEpoch: 0, maxEntries: 10 } })) as InProcessFrame;
  const first = frame.claim();
  const second = frame.claim();
  t.is(first, frame);
  t.not(second, frame);
  t.not(second.envelope, first.envelope);
  t.not(second.envelope.body, first.envelope.body);
  t.deepEqual(second.envelope, first.envelope);
  const decoded = wireRegistry.decodeEnvelope(second);
  if (!decoded.ok) return t.fail(decoded.rejection.reason);
  const event = wireRegistry.parseEvent(decoded.value);
  t.true(event.ok);
});

test.serial('in-process frames: a value CBOR would not carry the same way (a Map) is refused loudly', (t) => {
  const error = t.throws(() => inProcess(() => wireRegistry.encodeResponse('node.ping', 1, { payload: new Map() as unknown as Uint8Array })));
  t.regex(error.message, /cannot carry a Map/);
});

test.serial('in-process frames: the frame size limit applies to the estimate', (t) => {
  const huge = new Uint8Array(wireRegistry.frameBytesMax + 1);
  const error = t.throws(() => inProcess(() => wireRegistry.encodeRequest('node.ping', 1, { payload: huge })));
  t.true(error instanceof RaftlineError && error.code === 'MESSAGE_TOO_LARGE');
});

test.serial('in-process frames: slicing one gives plain bytes, never a frame without its envelope', (t) => {
  const frame = inProcess(() => wireRegistry.encodeRequest('node.ping', 1, { payload: new Uint8Array([1]) }));
  const slice = frame.slice();
  t.false(slice instanceof InProcessFrame);
  t.false(wireRegistry.decodeEnvelope(slice).ok);
});
