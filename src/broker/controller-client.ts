// The one way a broker finds and talks to the active controller (KIP-631 lifecycle, AlterPartition, producer-id
// blocks): the node last found answering as the controller, else the local Raft observer's leader hint, else the
// voters in turn; a refusal that names the controller is followed there. Keeps: after any redirect error from node X
// the next target is never X again while another candidate exists, so a call cycles through every voter.
import { silentLogger, type Logger } from '../runtime/logger.js';
import type { ControllerApi, ControllerApis, ControllerChannel } from '../wire/controller.js';
import type { RequestIn, ResponseOut } from '../wire/api.js';
import { RaftlineError } from '../wire/errors.js';

export interface ControllerClientOptions {
  channel: ControllerChannel;
  /** The metadata quorum's voters: where to look when no hint is known or the hint did not answer as controller. */
  voters: readonly number[];
  /** The active controller as this node's Raft observer knows it (MetadataFollower.leadership().leaderId). */
  hint(): number | null;
  logger?: Logger;
}

export interface ControllerClient {
  /**
   * One attempt at the node believed to be the controller. On a redirect error (NOT_CONTROLLER, or no answer) the
   * target moves on before the error is rethrown, so the caller's next attempt goes elsewhere.
   */
  send<K extends ControllerApi>(api: K, body: RequestIn<ControllerApis, K>, timeoutMs: number): Promise<ResponseOut<ControllerApis, K>>;
  /**
   * Up to `attempts` tries (default: one per voter, plus one), moving on after each redirect error; any other error,
   * or the last redirect error, is thrown.
   */
  request<K extends ControllerApi>(api: K, body: RequestIn<ControllerApis, K>, timeoutMs: number, attempts?: number): Promise<ResponseOut<ControllerApis, K>>;
  /** Where the next request goes. */
  target(): number;
}

/** Errors after which the request goes to another node: it was not (or is no longer) the controller, or did not answer. */
export function isControllerRedirect(error: unknown): error is RaftlineError {
  return error instanceof RaftlineError && (error.code === 'NOT_CONTROLLER' || error.code === 'NETWORK_EXCEPTION' || error.code === 'REQUEST_TIMED_OUT');
}

/**
 * Where to go after `failed` did not answer as the controller: the controller the refusal named, else the local hint,
 * else the voter after `failed` (the first voter when `failed` is not one). Never `failed` itself while the voters
 * offer another node.
 */
export function nextControllerTarget(voters: readonly number[], failed: number, hint: number | null, named: number | null = null): number {
  if (named !== null && named !== failed) return named;
  if (hint !== null && hint !== failed) return hint;
  if (voters.length === 0) return failed;
  const i = voters.indexOf(failed);
  const next = voters[(i + 1) % voters.length];
  if (next === undefined) throw new Error('controller client: voter list lookup out of range');
  return next;
}

/** The controller a NOT_CONTROLLER refusal names, when the refusing node knows one. */
export function namedController(error: unknown): number | null {
  if (!(error instanceof RaftlineError) || error.code !== 'NOT_CONTROLLER') return null;
  const leaderId = (error as { leaderId?: unknown }).leaderId;
  return typeof leaderId === 'number' && Number.isInteger(leaderId) && leaderId >= 0 ? leaderId : null;
}

export function createControllerClient(options: ControllerClientOptions): ControllerClient {
  const log = options.logger ?? silentLogger;
  if (options.voters.length === 0) throw new TypeError('controller client: the metadata quorum has no voters');
  // The node that last answered as the controller, or the one a redirect pointed at; null until the first attempt,
  // which then starts from the local hint.
  let current: number | null = null;
  // A hint that already failed us is skipped until the observer names someone else: a stale hint (the observer has not
  // yet heard of the new leader) would otherwise pull every other attempt back to the same refusing node.
  let failedHint: number | null = null;
  const target = (): number => current ?? options.hint() ?? options.voters[0]!;

  const send = async <K extends ControllerApi>(api: K, body: RequestIn<ControllerApis, K>, timeoutMs: number): Promise<ResponseOut<ControllerApis, K>> => {
    const to = target();
    try {
      const response = await options.channel(to, api, body, timeoutMs);
      current = to;
      return response;
    } catch (error) {
      if (isControllerRedirect(error)) {
        // Another attempt may have moved the target meanwhile; only the attempt that went to the target moves it.
        if (target() === to) {
          const hint = options.hint();
          if (hint === to) failedHint = hint;
          current = nextControllerTarget(options.voters, to, hint === failedHint ? null : hint, namedController(error));
          log.debug({ api, from: to, to: current, error: `${error.code}: ${error.message}` }, 'controller client: looking for the controller elsewhere');
        }
      }
      throw error;
    }
  };

  return {
    send,
    async request(api, body, timeoutMs, attempts = options.voters.length + 1) {
      if (!Number.isInteger(attempts) || attempts < 1) throw new TypeError(`controller client: attempts must be a positive integer, got ${attempts}`);
      for (let attempt = 1; ; attempt++) {
        try {
          return await send(api, body, timeoutMs);
        } catch (error) {
          if (!isControllerRedirect(error) || attempt >= attempts) throw error;
        }
      }
    },
    target,
  };
}
