// The Random port: every random choice under src/ (election timeouts, jitter, ids) comes from here, so that one
// seed reproduces a whole simulated run. `split` derives an independent stream, e.g. one per node.

export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, maxExclusive). `maxExclusive` must be a positive safe integer. */
  int(maxExclusive: number): number;
  /** An integer in [min, maxExclusive). */
  range(min: number, maxExclusive: number): number;
  /** `length` random bytes. */
  bytes(length: number): Uint8Array;
  /** An independent stream derived from this one and `label`; the same label on the same seed gives the same stream. */
  split(label: string): Random;
}

/** A hex identifier of `bytes` random bytes (e.g. a cluster id or a member id suffix). */
export function randomHex(random: Random, bytes = 16): string {
  return Buffer.from(random.bytes(bytes)).toString('hex');
}
