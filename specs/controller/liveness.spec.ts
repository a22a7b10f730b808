// Specs for broker session tracking: deadlines come only from the times passed in.
import test from 'ava';
import { applyRecords, emptyImage } from '../../src/controller/image.js';
import { emptyLiveness, expiredBrokers, forgetBroker, isCaughtUp, nextExpiryMs, recordHeartbeat, resetSessions } from '../../src/controller/liveness.js';
import { register, unfence } from './fixtures.js';

const image = applyRecords(emptyImage, [register(1, 0), register(2, 1), unfence(1, 0), unfence(2, 1)], 0);

test('liveness: a broker is due for fencing once its session timeout passes without a heartbeat', (t) => {
  let s = recordHeartbeat(emptyLiveness, 1, 1_000, 9_000, 5);
  s = recordHeartbeat(s, 2, 4_000, 9_000, 5);
  t.deepEqual(expiredBrokers(s, image, 10_000), []);
  t.deepEqual(expiredBrokers(s, image, 10_001), [1]);
  t.deepEqual(expiredBrokers(s, image, 13_001), [1, 2]);
  t.is(nextExpiryMs(s, image), 10_000);
});

test('liveness: a heartbeat pushes the deadline out, and a late-arriving older one does not pull it back', (t) => {
  let s = recordHeartbeat(emptyLiveness, 1, 5_000, 9_000, 7);
  s = recordHeartbeat(s, 1, 2_000, 9_000, 3);
  t.is(s.sessions.get(1)?.deadlineMs, 14_000);
  t.is(s.sessions.get(1)?.lastMetadataOffset, 7);
});

test('liveness: an unfenced broker without any session is expired; fenced brokers never are', (t) => {
  t.deepEqual(expiredBrokers(emptyLiveness, image, 0), [1, 2]);
  const onlyTwo = applyRecords(image, [{ type: 'fence-broker', version: 0, brokerId: 1, brokerEpoch: 0 }], 4);
  t.deepEqual(expiredBrokers(emptyLiveness, onlyTwo, 0), [2]);
  t.deepEqual(expiredBrokers(forgetBroker(recordHeartbeat(emptyLiveness, 2, 0, 10, 0), 2), onlyTwo, 0), [2]);
});

test('liveness: a new active controller gives every broker a full session', (t) => {
  const s = resetSessions(image, 50_000, 9_000);
  t.deepEqual(expiredBrokers(s, image, 59_000), []);
  t.deepEqual(expiredBrokers(s, image, 59_001), [1, 2]);
});

test('liveness: a broker is caught up once it has replayed its registration record', (t) => {
  t.false(isCaughtUp(image, 2, 0));
  t.true(isCaughtUp(image, 2, 1));
  t.false(isCaughtUp(image, 9, 100));
});
