// Scenario expectations (`expect` in a schedule): a run matches when it has exactly the expected checkers failing,
// each lost write naming the expected cause, or no violation when none is expected; swarm schedules drop the field.
import test from 'ava';
import { generateSchedule } from '../../sim/generator.js';
import { checkExpectation, runSchedule } from '../../sim/runner.js';
import { parseSchedule } from '../../sim/schedule.js';
import type { Violation } from '../../sim/system.js';
import { toyDataSystem } from '../helpers/toy-data-plane.js';

const v = (checker: string, message = 'm'): Violation => ({ checker, message, t: 1, phase: 'liveness' });

test('expectation: no violation expected matches only a clean run', (t) => {
  t.is(checkExpectation({ violations: [] }, []), null);
  t.regex(checkExpectation({ violations: [] }, [v('data.lost-write', 'gone')]) ?? '', /expected no violation, got data.lost-write: gone/);
});

test('expectation: the expected checkers must all fail, no other may, and each loss must name the expected cause', (t) => {
  const lost = v('data.lost-write', 'acknowledged write x is lost: ...; cause (unclean-election): unclean election of broker 3');
  t.is(checkExpectation({ violations: [{ checker: 'data.lost-write', cause: 'unclean-election' }] }, [lost, lost]), null);
  t.regex(checkExpectation({ violations: [{ checker: 'data.lost-write', cause: 'acks1-leader-crash' }] }, [lost]) ?? '', /expected every data.lost-write to name cause acks1-leader-crash/);
  t.regex(checkExpectation({ violations: [{ checker: 'data.lost-write' }, { checker: 'data.one-value-per-offset' }] }, [lost]) ?? '', /missing data.one-value-per-offset/);
  t.regex(checkExpectation({ violations: [{ checker: 'data.lost-write' }] }, [lost, v('liveness', 'stuck')]) ?? '', /unexpected liveness \(stuck\)/);
});

test('expectation: a schedule states it, the run reports whether it held, and the swarm generator drops it', async (t) => {
  const schedule = parseSchedule({
    version: 1,
    system: 'toy-data-volatile',
    cluster: { nodes: [{ id: 1, roles: ['broker'] }, { id: 9, roles: ['client'] }], topics: [{ name: 't', partitions: 1 }] },
    workload: { producers: [{ id: 'p', node: 9, topic: 't', acks: 1, ratePerSec: 50, messages: 60 }], consumers: [{ id: 'c', node: 9, group: 'g', topic: 't' }], params: { consumerPassMs: 300, producer: 'wire' } },
    faults: [{ at: 800, kind: 'crash', node: 1 }, { at: 900, kind: 'restart', node: 1 }],
    phases: { safetyMs: 3_000, livenessMs: 10_000 },
    expect: { violations: [{ checker: 'data.lost-write', cause: 'acks1-leader-crash' }, { checker: 'data.one-value-per-offset' }], why: 'the only replica forgets its log in a crash' },
  });
  const r = await runSchedule({ schedule, seed: 1, system: toyDataSystem({ durable: false }) });
  t.false(r.ok);
  t.is(r.unexpected, null, String(r.unexpected));
  const wrong = await runSchedule({ schedule: { ...schedule, expect: { violations: [] } }, seed: 1, system: toyDataSystem({ durable: false }) });
  t.regex(wrong.unexpected ?? '', /expected no violation/);
  t.is(generateSchedule(schedule, 3).expect, undefined);
});
