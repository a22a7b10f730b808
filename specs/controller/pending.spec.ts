// Specs for the committed/uncommitted image pair: responses wait for commit, and losing leadership reverts.
import test from 'ava';
import { emptyImage } from '../../src/controller/image.js';
import { commitUpTo, propose, replayCommitted, revertToCommitted, startImages } from '../../src/controller/pending.js';
import { register, unfence } from './fixtures.js';

test('pending: a batch is visible in the uncommitted image at once and in the committed one only after commit', (t) => {
  let s = startImages<string>(emptyImage);
  const p = propose(s, 0, [register(1, 0)], 'register-1');
  t.deepEqual(p.readyNow, []);
  s = p.state;
  t.true(s.uncommitted.brokers.has(1));
  t.false(s.committed.brokers.has(1));
  const none = commitUpTo(s, 0);
  t.deepEqual(none.committedTokens, []);
  const c = commitUpTo(s, 1);
  t.deepEqual(c.committedTokens, ['register-1']);
  t.is(c.state.committed, c.state.uncommitted);
});

test('pending: batches commit in order and never partly; control records between them are skipped', (t) => {
  let s = startImages<string>(emptyImage);
  s = propose(s, 0, [register(1, 0), register(2, 1)], 'a').state;
  s = propose(s, 5, [unfence(1, 0)], 'b').state;
  const partial = commitUpTo(s, 1);
  t.deepEqual(partial.committedTokens, [], 'a batch is not split');
  const first = commitUpTo(s, 4);
  t.deepEqual(first.committedTokens, ['a']);
  t.is(first.state.committed.offset, 1);
  t.deepEqual(commitUpTo(first.state, 6).committedTokens, ['b']);
});

test('pending: a request that wrote nothing waits behind pending batches', (t) => {
  let s = startImages<string>(emptyImage);
  t.deepEqual(propose(s, 0, [], 'read').readyNow, ['read'], 'nothing pending: answer now');
  s = propose(s, 0, [register(1, 0)], 'write').state;
  const r = propose(s, 1, [], 'read');
  t.deepEqual(r.readyNow, []);
  t.deepEqual(commitUpTo(r.state, 1).committedTokens, ['write', 'read']);
});

test('pending: losing leadership reverts to the committed image and drops the pending answers', (t) => {
  let s = startImages<string>(emptyImage);
  s = propose(s, 0, [register(1, 0)], 'a').state;
  s = commitUpTo(s, 1).state;
  s = propose(s, 1, [unfence(1, 0)], 'b').state;
  t.false(s.uncommitted.brokers.get(1)?.fenced);
  const r = revertToCommitted(s);
  t.deepEqual(r.droppedTokens, ['b']);
  t.true(r.state.uncommitted.brokers.get(1)?.fenced);
  t.is(r.state.pending.length, 0);
  const standby = replayCommitted(r.state, 1, [unfence(1, 0)]);
  t.false(standby.committed.brokers.get(1)?.fenced);
});

test('pending: a batch that does not follow the uncommitted image is a bug', (t) => {
  const s = propose(startImages<string>(emptyImage), 3, [register(1, 3)], 'a').state;
  t.throws(() => propose(s, 3, [register(2, 3)], 'b'), { message: /does not follow/ });
});
