import { createHash } from 'node:crypto';
import type { Model } from '../../../src-main/core/engine/ir';
import { extractDelta, type SparseDelta } from '../../../src-main/core/rounds';
import { standardSchemes, trainLocal, writeModelFile, type SparseScheme } from '../../../src-main/core/train';
import { imuFixture, type Fixture } from '../train/fixtures';

/** The registry-style hash of a model version: the SHA-256 of its TinyFleet model file. */
export function modelSha256(model: Model): string {
  return createHash('sha256').update(writeModelFile(model, undefined)).digest('hex');
}

/** A small trained base model with the device deltas of real local sparse updates on it. */
export interface RoundFixture {
  fx: Fixture;
  base: Model;
  baseSha256: string;
  scheme: SparseScheme;
  /** A device's local update: its trained model and its delta. */
  device(seed: number, scheme?: SparseScheme): { trained: Model; delta: SparseDelta };
}

export const ROUND = { job: 'job-1', round: 0 };

export function roundFixture(): RoundFixture {
  const fx = imuFixture(2);
  const base = fx.model;
  const baseSha256 = modelSha256(base);
  const scheme = standardSchemes(base).sparse;
  return {
    fx,
    base,
    baseSha256,
    scheme,
    device(seed, s = scheme) {
      const r = trainLocal(base, fx.task, seed, { scheme: s, lr: 0.01, epochs: 1, data: { trainSamples: 40 + seed, evalSamples: 40 } });
      const metrics = { samples: r.trainSamples, loss: r.loss, accuracyBefore: r.before, accuracyAfter: r.after };
      return { trained: r.model, delta: extractDelta(base, r.model, { scheme: s, baseSha256, round: ROUND, metrics }) };
    },
  };
}
