// `raftline cluster describe` and `raftline metadata-quorum status`: the cluster's brokers and active controller, and
// the KRaft quorum's leader, epoch, high watermark and every voter's and observer's lag (answered by the leader).
import type { CliCommand, CliContext } from '../command.js';
import { RaftlineError } from '../../wire/errors.js';
import type { DescribeClusterResponse } from '../../wire/controller.js';
import type { RequestApiName, RequestIn, ResponseOut, WireApis } from '../../wire/index.js';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd()).join('\n');
}

/** The endpoint of the active controller, from any node's view of the cluster. */
export async function controllerAddress(ctx: CliContext): Promise<{ cluster: DescribeClusterResponse; address: string | undefined }> {
  const cluster = await ctx.session().rpc.request('controller.describe-cluster', { includeFenced: true });
  const controller = cluster.brokers.find((b) => b.brokerId === cluster.controllerId);
  const endpoint = controller?.endpoints[0];
  return { cluster, address: endpoint === undefined ? undefined : `${endpoint.host}:${endpoint.port}` };
}

/**
 * Sends a request that only the active controller answers: to --bootstrap first, and on NOT_CONTROLLER to the
 * controller that node names in its view of the cluster (like a Kafka admin client refreshing its metadata).
 */
export async function requestController<K extends RequestApiName<WireApis>>(ctx: CliContext, api: K, body: RequestIn<WireApis, K>): Promise<ResponseOut<WireApis, K>> {
  try {
    return await ctx.session().rpc.request(api, body);
  } catch (err) {
    if (!(err instanceof RaftlineError) || err.code !== 'NOT_CONTROLLER') throw err;
    const { address } = await controllerAddress(ctx);
    if (address === undefined) throw new RaftlineError('NOT_CONTROLLER', `${err.message}; and its endpoint is not known to ${ctx.session().bootstrap}`);
    return ctx.sessionTo(address).rpc.request(api, body);
  }
}

export const clusterCommands: CliCommand[] = [
  {
    path: ['cluster', 'describe'],
    summary: 'the cluster id, the active controller and every broker (fenced ones marked)',
    flags: {},
    async run(ctx) {
      const res = await ctx.session().rpc.request('controller.describe-cluster', { includeFenced: true });
      ctx.output(res, () => {
        const rows = [['BROKER', 'ENDPOINT', 'RACK', 'STATE']];
        for (const b of res.brokers) {
          const state = b.fenced ? 'fenced' : b.inControlledShutdown ? 'shutting-down' : 'active';
          rows.push([String(b.brokerId) + (b.brokerId === res.controllerId ? '*' : ''), b.endpoints.map((e) => `${e.host}:${e.port}`).join(','), b.rack ?? '-', state]);
        }
        return `cluster ${res.clusterId}: controller ${res.controllerId ?? 'none (election in progress)'}, answered by node ${res.nodeId} at metadata offset ${res.metadataOffset}\n${table(rows)}`;
      });
    },
  },
  {
    path: ['metadata-quorum', 'status'],
    summary: 'the metadata quorum: leader, epoch, high watermark, each voter\'s and observer\'s lag',
    flags: {},
    async run(ctx) {
      // Only the leader knows every replica's progress.
      const answer = await requestController(ctx, 'controller.describe-quorum', {});
      ctx.output(answer, () => {
        const rows = [['NODE', 'ROLE', 'LOG END', 'LAG', 'LAST FETCH']];
        for (const [role, list] of [['voter', answer.voters], ['observer', answer.observers]] as const) {
          for (const r of list) {
            rows.push([
              String(r.nodeId) + (r.nodeId === answer.leaderId ? '*' : ''),
              r.nodeId === answer.leaderId ? 'leader' : role,
              String(r.logEndOffset),
              r.lag === null ? '-' : String(r.lag),
              r.lastFetchAgoMs === null ? '-' : `${Math.round(r.lastFetchAgoMs)} ms ago`,
            ]);
          }
        }
        return `leader ${answer.leaderId}, epoch ${answer.leaderEpoch}, high watermark ${answer.highWatermark}, log end ${answer.logEndOffset}\n${table(rows)}`;
      });
    },
  },
];
