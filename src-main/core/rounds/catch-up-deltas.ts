import { encodeDelta } from './delta-codec';
import type { RoundEngineDeps } from './round-engine';
import { diffModels } from './sparse-delta';

/**
 * The encoded deltas that take a device from one stored version of a job's model to a later one
 * (docs/protocol.md §15, catch-up deltas). Both versions are read from the registry, so a delta
 * never depends on anything else held in memory; each `from>to` pair is computed once until
 * {@link clear} (a job clears when its round or window moves on).
 */
export class CatchUpDeltas {
  private readonly cache = new Map<string, Uint8Array>();

  constructor(
    private readonly model: RoundEngineDeps['model'],
    private readonly job: { id: string; modelId: string },
  ) {}

  /** The delta from version `from` to version `to`, named after round (or window) `round` of the job. */
  between(from: number, to: number, round: number): Uint8Array {
    const key = `${from}>${to}`;
    let bytes = this.cache.get(key);
    if (!bytes) {
      const a = this.model(this.job.modelId, from);
      const b = this.model(this.job.modelId, to);
      bytes = encodeDelta(diffModels(a.model, b.model, { baseSha256: a.digest, round: { job: this.job.id, round } }));
      this.cache.set(key, bytes);
    }
    return bytes;
  }

  /** Forgets every delta computed so far. */
  clear(): void {
    this.cache.clear();
  }
}
