import type { Model } from '../engine/ir';
import { cloneModel } from '../train';
import { validateDelta } from './delta-validation';
import { DeltaError, targetValues, type SparseDelta } from './sparse-delta';

/**
 * The model a delta gives on its base: a copy of `base` with the delta's entries written in (the
 * base itself is not modified). Throws a {@link DeltaError} naming the problem when the delta does
 * not fit the base (unknown tensors, indices or values out of range, entries outside coverage).
 */
export function applyDelta(base: Model, delta: SparseDelta): Model {
  const check = validateDelta(delta, base);
  if (!check.ok) throw new DeltaError(check.error.code, check.error.message);
  const out = cloneModel(base);
  for (const t of delta.tensors) {
    const values = targetValues(out, t);
    for (let n = 0; n < t.indices.length; n++) values[t.indices[n]] = t.values[n];
  }
  return out;
}
