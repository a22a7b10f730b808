// Failure schedules: the JSON a user writes (or the swarm generator derives from a seed) to describe a cluster, its
// workload and timed faults. docs/sim-schedules.md documents the format. Invariant: a Schedule that parsed is
// internally consistent (every fault names existing nodes and falls inside the safety phase).
import { z } from 'zod';

const nodeId = z.number().int().min(1).max(1024);
const at = z.number().int().min(0);

export const linkModelSchema = z
  .object({
    latencyMinMs: z.number().min(0),
    latencyMaxMs: z.number().min(0),
    loss: z.number().min(0).max(1),
    duplicate: z.number().min(0).max(1),
    reorder: z.number().min(0).max(1),
  })
  .partial()
  .strict();

export const topicSchema = z
  .object({
    name: z.string().min(1).max(249),
    partitions: z.number().int().min(1).default(1),
    /** Manual placement: the replicas of each partition, the first its preferred leader (then `partitions` must match). */
    assignments: z.array(z.array(nodeId).min(1)).min(1).optional(),
    config: z
      .object({
        'replication.factor': z.number().int().min(1).optional(),
        'min.insync.replicas': z.number().int().min(1).optional(),
        'unclean.leader.election.enable': z.boolean().optional(),
      })
      .strict()
      .default({}),
  })
  .strict()
  .refine((t) => t.assignments === undefined || t.assignments.length === t.partitions, { message: 'assignments must list one replica set per partition', path: ['assignments'] });

export const producerSchema = z
  .object({
    id: z.string().min(1),
    node: nodeId.optional(),
    topic: z.string().min(1),
    acks: z.union([z.literal(0), z.literal(1), z.literal(-1), z.literal('all')]).default('all'),
    ratePerSec: z.number().positive(),
    messages: z.number().int().min(0),
  })
  .strict();

export const consumerSchema = z
  .object({ id: z.string().min(1), node: nodeId.optional(), group: z.string().min(1), topic: z.string().min(1) })
  .strict();

const one = <K extends string, S extends z.ZodRawShape>(kind: K, shape: S) =>
  z.object({ at, kind: z.literal(kind), ...shape }).strict();

export const faultSchema = z.discriminatedUnion('kind', [
  /** `unsynced: 'keep'`: a process crash the OS survives (kill -9): its page cache, unsynced writes included, is kept. */
  one('crash', { node: nodeId, unsynced: z.enum(['model', 'keep']).optional() }),
  one('restart', { node: nodeId }),
  /** A clean stop (SIGTERM): the node's own shutdown runs to its end, then the process exits; its page cache survives. */
  one('stop', { node: nodeId }),
  one('partition', { from: z.array(nodeId).min(1), to: z.array(nodeId).min(1), oneWay: z.boolean().default(false) }),
  one('heal', {}),
  one('clog', { from: z.array(nodeId).min(1), to: z.array(nodeId).min(1), durationMs: z.number().int().positive() }),
  one('lose-unsynced', { node: nodeId }),
  one('corrupt', { node: nodeId, path: z.string().min(1), byteOffset: z.number().int().min(0).optional() }),
  one('disk-fault', {
    node: nodeId,
    fault: z.enum(['eio', 'enospc']),
    pathPrefix: z.string().optional(),
    op: z.enum(['write', 'read', 'sync', 'any']).optional(),
    count: z.number().int().positive().optional(),
  }),
  one('pause', { node: nodeId, durationMs: z.number().int().positive() }),
  one('clock-skew', { node: nodeId, skewMs: z.number().int() }),
  one('link', { from: z.array(nodeId).optional(), to: z.array(nodeId).optional(), model: linkModelSchema }),
]);

/**
 * What a scenario expects: no violation at all (`violations: []`), or exactly these checkers failing — for a lost
 * write also the cause every reported loss must name (sim/checkers/data.ts).
 */
export const expectationSchema = z
  .object({
    violations: z
      .array(z.object({ checker: z.string().min(1), cause: z.enum(['unclean-election', 'acks1-leader-crash', 'unsynced-tail-lost', 'unattributed']).optional() }).strict())
      .default([]),
    /** Why this is the expected verdict, for the reader. */
    why: z.string().optional(),
  })
  .strict();

export const scheduleSchema = z
  .object({
    version: z.literal(1),
    system: z.string().min(1),
    seed: z.number().int().min(0).optional(),
    /** What the schedule shows, for the reader (the simulator ignores it). */
    comment: z.string().optional(),
    cluster: z
      .object({
        nodes: z
          .array(z.object({ id: nodeId, roles: z.array(z.enum(['broker', 'controller', 'client'])).min(1).default(['broker', 'controller']) }).strict())
          .min(1)
          .max(64),
        topics: z.array(topicSchema).default([]),
      })
      .strict(),
    workload: z
      .object({
        producers: z.array(producerSchema).default([]),
        consumers: z.array(consumerSchema).default([]),
        params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
      })
      .strict()
      .default({ producers: [], consumers: [], params: {} }),
    network: linkModelSchema.default({}),
    faults: z.array(faultSchema).max(10_000).default([]),
    phases: z
      .object({ safetyMs: z.number().int().positive(), livenessMs: z.number().int().positive() })
      .strict()
      .default({ safetyMs: 10_000, livenessMs: 20_000 }),
    expect: expectationSchema.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    const ids = new Set<number>();
    s.cluster.nodes.forEach((n, i) => {
      if (ids.has(n.id)) ctx.addIssue({ code: 'custom', path: ['cluster', 'nodes', i, 'id'], message: `duplicate node id ${n.id}` });
      ids.add(n.id);
    });
    s.faults.forEach((f, i) => {
      const named = [...('node' in f ? [f.node] : []), ...('from' in f && f.from ? f.from : []), ...('to' in f && f.to ? f.to : [])];
      for (const id of named) {
        if (!ids.has(id)) ctx.addIssue({ code: 'custom', path: ['faults', i], message: `fault names node ${id}, which is not in cluster.nodes` });
      }
      if (f.at >= s.phases.safetyMs) {
        ctx.addIssue({ code: 'custom', path: ['faults', i, 'at'], message: `fault at ${f.at} ms is not inside the safety phase (safetyMs ${s.phases.safetyMs})` });
      }
    });
    const m = { latencyMinMs: 1, latencyMaxMs: 5, ...s.network };
    if (m.latencyMaxMs < m.latencyMinMs) ctx.addIssue({ code: 'custom', path: ['network'], message: 'latencyMaxMs must be >= latencyMinMs' });
  });

export type Schedule = z.output<typeof scheduleSchema>;
export type ScheduleInput = z.input<typeof scheduleSchema>;
export type Fault = z.output<typeof faultSchema>;
export type Expectation = z.output<typeof expectationSchema>;

export class ScheduleError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid schedule:\n  ${issues.join('\n  ')}`);
    this.name = 'ScheduleError';
  }
}

/** Validates a parsed JSON value; throws ScheduleError listing every problem as `path: message`. */
export function parseSchedule(value: unknown): Schedule {
  const result = scheduleSchema.safeParse(value);
  if (!result.success) {
    throw new ScheduleError(result.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`));
  }
  // Faults apply in time order; equal times keep the order they were written in.
  const faults = result.data.faults.map((f, i) => ({ f, i })).sort((a, b) => a.f.at - b.f.at || a.i - b.i).map((x) => x.f);
  return { ...result.data, faults };
}
