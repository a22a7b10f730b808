// The data plane's guarantees, checked over a history of client operations plus the run's faults and partition
// elections (the format is documented in docs/simulator.md, "Data-plane history"): no acknowledged write lost (judged
// by the last complete read of its partition, else by Jepsen's rule: lost only when its own or a later offset was read), no duplicates from an idempotent producer, each
// idempotent producer's records in send order within a partition, one value per offset, no read at or above the high
// watermark the read saw. Every lost write (and every rewritten offset) is attributed to the fault or election that
// explains it, or said to be unattributed. Pure: the same history always gives the same verdict.
import type { Checker } from '../system.js';
import type { Simulation } from '../simulation.js';

export type Acks = 0 | 1 | -1;

/** One event of the history, in the order it happened (`t` in virtual ms). */
export type HistoryEvent =
  /** A producer's settings, before its first send. A producer id is one producer instance (its restart is another). */
  | { t: number; type: 'producer'; producer: string; idempotent: boolean; acks: Acks }
  /** A send was invoked; `seq` is its place in the producer's send order. `value` is unique in the whole history. */
  | { t: number; type: 'send.invoke'; producer: string; value: string; seq: number; topic: string; partition: number }
  /** The broker acknowledged it at `offset`; `leader` is the broker that answered. */
  | { t: number; type: 'send.ok'; producer: string; value: string; topic: string; partition: number; offset: number; leader: number }
  /** It definitely was not written (e.g. NOT_ENOUGH_REPLICAS, or failed before anything was sent). */
  | { t: number; type: 'send.fail'; producer: string; value: string; code: string }
  /** No definite answer (a timeout, a lost connection, a crash of the client): it may or may not have been written. */
  | { t: number; type: 'send.indeterminate'; producer: string; value: string; reason: string }
  /** A consumer read `value` at `offset`, in a fetch response that carried `highWatermark`. */
  | { t: number; type: 'read'; consumer: string; topic: string; partition: number; offset: number; value: string; highWatermark: number }
  /** A consumer's pass over the partition, which read every offset from 0 up to `highWatermark`, ended. The latest
   * such pass is the final word on what the partition holds. */
  | { t: number; type: 'read.end'; consumer: string; topic: string; partition: number; highWatermark: number }
  /** A fault the simulator applied (crash, restart, lose-unsynced, partition, heal, ...); `node` when it names one. */
  | { t: number; type: 'fault'; kind: string; node: number | null }
  /** A leader change of a partition as the committed metadata shows it; `unclean` when the leader came from outside
   * the previous ISR and ELR. */
  | { t: number; type: 'election'; topic: string; partition: number; leader: number; leaderEpoch: number; unclean: boolean };

export const dataCheckerNames = [
  'data.lost-write',
  'data.duplicate',
  'data.producer-order',
  'data.one-value-per-offset',
  'data.read-above-high-watermark',
] as const;
export type DataCheckerName = (typeof dataCheckerNames)[number];

export type LossCauseKind = 'unclean-election' | 'acks1-leader-crash' | 'unsynced-tail-lost' | 'unattributed';

export interface LossCause {
  kind: LossCauseKind;
  /** When the fault or election happened (null: unattributed). */
  t: number | null;
  node: number | null;
  detail: string;
}

export interface DataAnomaly {
  checker: DataCheckerName;
  message: string;
  topic: string;
  partition: number;
  offset: number | null;
  value: string | null;
  /** Set for lost writes and rewritten offsets. */
  cause: LossCause | null;
}

export interface DataStats {
  sends: number;
  acked: number;
  failed: number;
  indeterminate: number;
  reads: number;
  /** Acknowledged writes seen by a read at their offset (or, for an offset-less ack, anywhere in the partition). */
  ackedRead: number;
  /** Acknowledged writes no read could judge: nothing at or beyond their offset was read. */
  ackedUnverified: number;
  lost: number;
  /** Values read at more than one offset, from producers without idempotence (allowed: counted only). */
  duplicatesAllowed: number;
}

export interface DataVerdict {
  anomalies: DataAnomaly[];
  stats: DataStats;
}

const tpKey = (topic: string, partition: number): string => `${topic}-${partition}`;

interface Ack {
  producer: string;
  value: string;
  topic: string;
  partition: number;
  offset: number;
  leader: number;
  t: number;
}

/** Analyses a whole history. Anomalies come out sorted by checker, partition and offset (deterministic). */
export function analyzeHistory(history: readonly HistoryEvent[]): DataVerdict {
  const producers = new Map<string, { idempotent: boolean; acks: Acks }>();
  const invoked = new Map<string, { producer: string; seq: number; topic: string; partition: number }>();
  const acks: Ack[] = [];
  const faults: Array<Extract<HistoryEvent, { type: 'fault' }>> = [];
  const elections = new Map<string, Array<Extract<HistoryEvent, { type: 'election' }>>>();
  /** tp -> offset -> values read there. */
  const readsAt = new Map<string, Map<number, Set<string>>>();
  /** tp -> value -> offsets it was read at (any time). */
  const offsetsOf = new Map<string, Map<string, Set<number>>>();
  const maxRead = new Map<string, number>();
  /** tp -> offset -> the value its latest read returned; tp -> the values of those latest reads. */
  const latestAt = new Map<string, Map<number, string>>();
  const latestValues = new Map<string, Set<string>>();
  /** tp -> (time, broker) of each acknowledgement: who led the partition then, when no election says. */
  const ackLeaders = new Map<string, Array<{ t: number; leader: number }>>();
  /** consumer/tp -> offset -> value of the pass under way; tp -> the latest complete pass. */
  const passes = new Map<string, Map<number, string>>();
  const fullRead = new Map<string, { values: Map<number, string>; present: Set<string>; highWatermark: number; t: number; consumer: string }>();
  const anomalies: DataAnomaly[] = [];
  const stats: DataStats = { sends: 0, acked: 0, failed: 0, indeterminate: 0, reads: 0, ackedRead: 0, ackedUnverified: 0, lost: 0, duplicatesAllowed: 0 };

  let lastT = -Infinity;
  for (const e of history) {
    if (e.t < lastT) throw new RangeError(`history: event at ${e.t} ms follows one at ${lastT} ms (events must be in time order)`);
    lastT = e.t;
    switch (e.type) {
      case 'producer':
        producers.set(e.producer, { idempotent: e.idempotent, acks: e.acks });
        break;
      case 'send.invoke':
        if (invoked.has(e.value)) throw new RangeError(`history: value ${e.value} sent twice (values must be unique)`);
        invoked.set(e.value, { producer: e.producer, seq: e.seq, topic: e.topic, partition: e.partition });
        stats.sends++;
        break;
      case 'send.ok':
        acks.push({ producer: e.producer, value: e.value, topic: e.topic, partition: e.partition, offset: e.offset, leader: e.leader, t: e.t });
        getOr(ackLeaders, tpKey(e.topic, e.partition), () => []).push({ t: e.t, leader: e.leader });
        stats.acked++;
        break;
      case 'send.fail':
        stats.failed++;
        break;
      case 'send.indeterminate':
        stats.indeterminate++;
        break;
      case 'read': {
        stats.reads++;
        const tp = tpKey(e.topic, e.partition);
        const at = getOr(readsAt, tp, () => new Map<number, Set<string>>());
        getOr(at, e.offset, () => new Set<string>()).add(e.value);
        getOr(getOr(offsetsOf, tp, () => new Map<string, Set<number>>()), e.value, () => new Set<number>()).add(e.offset);
        maxRead.set(tp, Math.max(maxRead.get(tp) ?? -1, e.offset));
        getOr(latestAt, tp, () => new Map<number, string>()).set(e.offset, e.value);
        getOr(passes, `${e.consumer}/${tp}`, () => new Map<number, string>()).set(e.offset, e.value);
        if (e.offset >= e.highWatermark) {
          anomalies.push({
            checker: 'data.read-above-high-watermark',
            message: `${e.consumer} read ${e.value} at ${tp} offset ${e.offset}, at or above the high watermark ${e.highWatermark} of that fetch (t=${e.t})`,
            topic: e.topic, partition: e.partition, offset: e.offset, value: e.value, cause: null,
          });
        }
        break;
      }
      case 'read.end': {
        const tp = tpKey(e.topic, e.partition);
        const values = passes.get(`${e.consumer}/${tp}`) ?? new Map<number, string>();
        passes.delete(`${e.consumer}/${tp}`);
        fullRead.set(tp, { values, present: new Set(values.values()), highWatermark: e.highWatermark, t: e.t, consumer: e.consumer });
        break;
      }
      case 'fault':
        faults.push(e);
        break;
      case 'election':
        getOr(elections, tpKey(e.topic, e.partition), () => []).push(e);
        break;
    }
  }

  for (const [tp, at] of latestAt) latestValues.set(tp, new Set(at.values()));

  const attribute = (topic: string, partition: number, since: number, ackLeader: number | null, acksLevel: Acks | null): LossCause => {
    const tp = tpKey(topic, partition);
    const changes = elections.get(tp) ?? [];
    const unclean = changes.find((c) => c.unclean && c.t >= since);
    if (unclean !== undefined) {
      return { kind: 'unclean-election', t: unclean.t, node: unclean.leader, detail: `unclean election of broker ${unclean.leader} as leader of ${tp} in leader epoch ${unclean.leaderEpoch} at ${unclean.t} ms` };
    }
    if (ackLeader !== null && acksLevel !== null && acksLevel !== -1) {
      const crash = faults.find((f) => (f.kind === 'crash' || f.kind === 'lose-unsynced') && f.node === ackLeader && f.t >= since);
      if (crash !== undefined) {
        return { kind: 'acks1-leader-crash', t: crash.t, node: ackLeader, detail: `${crash.kind} of broker ${ackLeader}, the acks=${acksLevel} leader of ${tp}, at ${crash.t} ms before its followers had fetched the write` };
      }
    }
    // The leader at a fault's time: the last election before it, else the broker that acknowledged (this write, or the
    // partition's latest acknowledgement before the fault).
    const leaderAt = (t: number): number | null => {
      let leader = ackLeader;
      let electedAt = -Infinity;
      for (const c of changes) {
        if (c.t <= t) {
          leader = c.leader;
          electedAt = c.t;
        }
      }
      for (const a of ackLeaders.get(tp) ?? []) if (a.t <= t && a.t >= electedAt && (ackLeader === null || electedAt > -Infinity)) leader = a.leader;
      return leader;
    };
    const tail = faults.find((f) => (f.kind === 'lose-unsynced' || f.kind === 'crash') && f.t >= since && f.node !== null && f.node === leaderAt(f.t));
    if (tail !== undefined) {
      return { kind: 'unsynced-tail-lost', t: tail.t, node: tail.node, detail: `${tail.kind} of broker ${String(tail.node)}, then leader of ${tp}, at ${tail.t} ms: its unsynced tail was lost and its log rewritten` };
    }
    return { kind: 'unattributed', t: null, node: null, detail: 'no fault or election of this partition after the acknowledgement explains it' };
  };

  // Lost writes. With a complete pass over the partition after the acknowledgement, that pass decides: the value is
  // there, or it is lost (its offset holds something else, was skipped, or lies beyond the high watermark the pass
  // reached). Otherwise Jepsen's rule over the latest read of each offset: lost when the value is not among them
  // although its own or a later offset was read. A value read once and later replaced is as lost as one never seen.
  for (const a of acks) {
    const tp = tpKey(a.topic, a.partition);
    const full = fullRead.get(tp);
    let there: string | undefined;
    let why: string;
    if (full !== undefined && full.t >= a.t) {
      if (full.present.has(a.value)) {
        stats.ackedRead++;
        continue;
      }
      there = full.values.get(a.offset);
      why = a.offset >= full.highWatermark
        ? `the last full read (${full.consumer} at ${full.t} ms) ended at high watermark ${full.highWatermark}, below its offset`
        : there === undefined ? `the last full read (${full.consumer} at ${full.t} ms) skipped that offset` : `offset ${a.offset} now holds ${there}`;
    } else {
      if (latestValues.get(tp)?.has(a.value) === true) {
        stats.ackedRead++;
        continue;
      }
      there = latestAt.get(tp)?.get(a.offset);
      if ((maxRead.get(tp) ?? -1) <= a.offset && there === undefined) {
        stats.ackedUnverified++;
        continue;
      }
      why = there === undefined ? `that offset was skipped while offset ${maxRead.get(tp)} was read` : `offset ${a.offset} now holds ${there}`;
    }
    stats.lost++;
    const producer = producers.get(a.producer);
    const cause = attribute(a.topic, a.partition, a.t, a.leader, producer?.acks ?? null);
    anomalies.push({
      checker: 'data.lost-write',
      message: `acknowledged write ${a.value} (${a.producer}, ${tp} offset ${a.offset}, acked at ${a.t} ms by broker ${a.leader}) is lost: ${why}; cause (${cause.kind}): ${cause.detail}`,
      topic: a.topic, partition: a.partition, offset: a.offset, value: a.value, cause,
    });
  }

  // One value per offset, duplicates, producer order.
  for (const [tp, at] of readsAt) {
    for (const [offset, values] of at) {
      if (values.size <= 1) continue;
      const [topic, partition] = splitTp(tp);
      const firstRead = history.find((e) => e.type === 'read' && tpKey(e.topic, e.partition) === tp && e.offset === offset);
      const cause = attribute(topic, partition, firstRead?.t ?? 0, null, null);
      anomalies.push({
        checker: 'data.one-value-per-offset',
        message: `${tp} offset ${offset} was read with different values: ${[...values].join(', ')}; cause (${cause.kind}): ${cause.detail}`,
        topic, partition, offset, value: null, cause,
      });
    }
  }
  // Duplicates and order are judged on what the partition finally holds: its last complete pass, else the latest read
  // of each offset (a record truncated away and written again elsewhere is neither a duplicate nor out of order).
  for (const tp of offsetsOf.keys()) {
    const [topic, partition] = splitTp(tp);
    const final = fullRead.get(tp)?.values ?? latestAt.get(tp) ?? new Map<number, string>();
    const byValue = new Map<string, Set<number>>();
    for (const [offset, value] of final) getOr(byValue, value, () => new Set<number>()).add(offset);
    /** producer -> [seq, min offset, value] of its values read in this partition. */
    const perProducer = new Map<string, Array<{ seq: number; offset: number; value: string }>>();
    for (const [value, offsets] of byValue) {
      const sent = invoked.get(value);
      const idempotent = sent !== undefined && producers.get(sent.producer)?.idempotent === true;
      if (offsets.size > 1) {
        if (idempotent) {
          anomalies.push({
            checker: 'data.duplicate',
            message: `${value} from idempotent producer ${sent.producer} was written more than once in ${tp}: offsets ${[...offsets].sort((x, y) => x - y).join(', ')}`,
            topic, partition, offset: Math.min(...offsets), value, cause: null,
          });
        } else stats.duplicatesAllowed++;
      }
      if (sent !== undefined && idempotent) getOr(perProducer, sent.producer, () => []).push({ seq: sent.seq, offset: Math.min(...offsets), value });
    }
    for (const [producer, written] of perProducer) {
      written.sort((x, y) => x.seq - y.seq);
      for (let i = 1; i < written.length; i++) {
        const before = written[i - 1]!;
        const after = written[i]!;
        if (after.offset <= before.offset) {
          anomalies.push({
            checker: 'data.producer-order',
            message: `idempotent producer ${producer} sent ${before.value} before ${after.value}, but ${tp} holds them at offsets ${before.offset} and ${after.offset}`,
            topic, partition, offset: after.offset, value: after.value, cause: null,
          });
          break;
        }
      }
    }
  }

  anomalies.sort((x, y) => x.checker.localeCompare(y.checker) || tpKey(x.topic, x.partition).localeCompare(tpKey(y.topic, y.partition)) || (x.offset ?? -1) - (y.offset ?? -1));
  return { anomalies, stats };
}

function splitTp(tp: string): [string, number] {
  const i = tp.lastIndexOf('-');
  return [tp.slice(0, i), Number(tp.slice(i + 1))];
}

function getOr<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

/** Anomalies reported per checker at most; the rest are counted in the last message. */
export const dataAnomaliesReportedMax = 5;

/**
 * The data checkers of a run: when the liveness phase ends (the workload drained and a final read of every partition
 * done), the history is analysed and each anomaly becomes a violation under its checker's name, its cause in the
 * message. `verdict` keeps the last analysis for specs and scenario expectations.
 */
export function dataCheckers(history: () => readonly HistoryEvent[], keep: { verdict?: DataVerdict } = {}): Checker[] {
  return [
    {
      name: 'data.history',
      atEnd(sim: Simulation, phase) {
        if (phase !== 'liveness') return;
        const verdict = analyzeHistory(history());
        keep.verdict = verdict;
        sim.trace.record('-', 'data.verdict', { ...verdict.stats, anomalies: verdict.anomalies.length });
        const byChecker = new Map<DataCheckerName, DataAnomaly[]>();
        for (const a of verdict.anomalies) getOr(byChecker, a.checker, () => []).push(a);
        for (const [checker, list] of byChecker) {
          list.slice(0, dataAnomaliesReportedMax).forEach((a, i) => {
            const more = i === dataAnomaliesReportedMax - 1 && list.length > dataAnomaliesReportedMax ? ` (and ${list.length - dataAnomaliesReportedMax} more)` : '';
            sim.fail(checker, a.message + more);
          });
        }
      },
    },
  ];
}
