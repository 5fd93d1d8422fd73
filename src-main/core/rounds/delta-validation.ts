import type { Model } from '../engine/ir';
import type { RoundRef } from '../protocol';
import { analyseGraph, describeScheme, type SparseScheme } from '../train';
import { deltaTargets, INT32_MAX, INT32_MIN, INT8_WEIGHT_MAX, INT8_WEIGHT_MIN, schemeCoverage, type SparseDelta } from './sparse-delta';

/** Why a delta is refused; the rounds service counts rejections by these codes. */
export type DeltaRejection =
  | 'MALFORMED' // the in-memory delta breaks the format's own rules (order, lengths)
  | 'BASE_MISMATCH' // trained from another base model than the round's
  | 'WRONG_ROUND' // names another job or round
  | 'BAD_METRICS' // samples < 1, loss negative or not finite, accuracy outside 0..1
  | 'UNKNOWN_TENSOR' // a tensor id the base model does not have
  | 'NOT_TRAINABLE' // a tensor that is no trainable weight or bias (activations, shapes, depthwise weights)
  | 'DTYPE_MISMATCH' // the section's dtype is not the tensor's
  | 'BAD_COVERAGE' // covered channels outside 1..last axis, or a bias not covered whole
  | 'INDEX_OUT_OF_RANGE' // an index past the tensor's end
  | 'OUTSIDE_COVERAGE' // a changed entry outside the section's own coverage
  | 'VALUE_OUT_OF_RANGE' // an int8 weight outside -127..127, or a value outside int32
  | 'NOT_IN_SCHEME' // a tensor (or more channels of it) the round's scheme does not let the device update
  | 'SCHEME_MISMATCH'; // a tensor the scheme covers is missing, or covered with fewer channels

/** The outcome of a check: fine, or the first problem found. */
export type DeltaCheck = { ok: true } | { ok: false; error: { code: DeltaRejection; message: string } };

/** What the app expects of an upload: the round's base model, the round, the device's scheme. */
export interface DeltaExpectation {
  baseSha256?: string;
  round?: RoundRef;
  /** The scheme the round assigned to this device's MCU class. */
  scheme?: SparseScheme;
}

const fail = (code: DeltaRejection, message: string): DeltaCheck => ({ ok: false, error: { code, message } });
const isFraction = (x: number) => Number.isFinite(x) && x >= 0 && x <= 1;

/**
 * Checks a (decoded) delta against its base model and what the round expects, and never throws on
 * a bad delta: the base hash and round, the metrics, then per tensor section that the tensor is a
 * trainable weight or bias of the base with that dtype, that coverage fits the tensor (and, with a
 * scheme, is exactly what the scheme covers), that every index is in range, strictly increasing and
 * inside the coverage, and that every value fits the dtype (int8 weights stay within -127..127).
 */
export function validateDelta(delta: SparseDelta, base: Model, expect: DeltaExpectation = {}): DeltaCheck {
  if (expect.baseSha256 !== undefined && delta.baseSha256 !== expect.baseSha256) {
    return fail('BASE_MISMATCH', `delta was trained from base ${delta.baseSha256.slice(0, 12)}…, the round's base is ${expect.baseSha256.slice(0, 12)}…`);
  }
  if (expect.round && (delta.round.job !== expect.round.job || delta.round.round !== expect.round.round)) {
    return fail('WRONG_ROUND', `delta belongs to ${delta.round.job} round ${delta.round.round}, expected ${expect.round.job} round ${expect.round.round}`);
  }
  const m = delta.metrics;
  if (!Number.isInteger(m.samples) || m.samples < 1 || m.samples > 0xffff_ffff) return fail('BAD_METRICS', `sample count ${m.samples} is not an integer of at least 1`);
  if (!Number.isFinite(m.loss) || m.loss < 0) return fail('BAD_METRICS', `local loss ${m.loss} is not a finite number >= 0`);
  if (!isFraction(m.accuracyBefore) || !isFraction(m.accuracyAfter)) return fail('BAD_METRICS', `accuracies ${m.accuracyBefore} / ${m.accuracyAfter} are not both within 0..1`);

  const graph = analyseGraph(base);
  const targets = deltaTargets(graph);
  const coverage = expect.scheme ? schemeCoverage(graph, expect.scheme) : undefined;
  let previous = -1;
  for (const section of delta.tensors) {
    const id = section.tensor;
    if (!Number.isInteger(id) || id <= previous) return fail('MALFORMED', `tensor sections must be in strictly ascending tensor id (${id} after ${previous})`);
    previous = id;
    if (id >= base.tensors.length) return fail('UNKNOWN_TENSOR', `tensor ${id} does not exist (the base model has ${base.tensors.length})`);
    const target = targets.get(id);
    if (!target) return fail('NOT_TRAINABLE', `tensor ${id} (${base.tensors[id].name}) is not a weight or bias a sparse update may change`);
    if (section.dtype !== target.dtype) return fail('DTYPE_MISMATCH', `tensor ${id} is ${target.dtype}, the delta says ${section.dtype}`);
    if (!Number.isInteger(section.channels) || section.channels < 1 || section.channels > target.lastAxis) {
      return fail('BAD_COVERAGE', `tensor ${id} covers ${section.channels} channels; its last axis has ${target.lastAxis}`);
    }
    if (target.role === 'bias' && section.channels !== target.lastAxis) return fail('BAD_COVERAGE', `bias tensor ${id} must be covered whole (${target.lastAxis}), not ${section.channels}`);
    if (coverage) {
      const allowed = coverage.get(id);
      const scheme = describeScheme(expect.scheme!);
      if (allowed === undefined) return fail('NOT_IN_SCHEME', `the scheme (${scheme}) does not update tensor ${id} (${target.role} of node ${target.layer.opIndex})`);
      if (section.channels > allowed) return fail('NOT_IN_SCHEME', `the scheme (${scheme}) updates ${allowed} channels of tensor ${id}, the delta covers ${section.channels}`);
      if (section.channels < allowed) return fail('SCHEME_MISMATCH', `the scheme (${scheme}) updates ${allowed} channels of tensor ${id}, the delta covers only ${section.channels}`);
    }
    const { indices, values } = section;
    if (indices.length !== values.length) return fail('MALFORMED', `tensor ${id} has ${indices.length} indices but ${values.length} values`);
    const [lo, hi] = target.dtype === 'int8' ? [INT8_WEIGHT_MIN, INT8_WEIGHT_MAX] : [INT32_MIN, INT32_MAX];
    let last = -1;
    for (let n = 0; n < indices.length; n++) {
      const i = indices[n];
      if (i <= last) return fail('MALFORMED', `indices of tensor ${id} must be strictly increasing (${i} after ${last})`);
      last = i;
      if (i >= target.length) return fail('INDEX_OUT_OF_RANGE', `index ${i} of tensor ${id} is past its ${target.length} entries`);
      if (i % target.lastAxis >= section.channels) return fail('OUTSIDE_COVERAGE', `entry ${i} of tensor ${id} is in channel ${i % target.lastAxis}, outside the ${section.channels} covered`);
      const v = values[n];
      if (!Number.isInteger(v) || v < lo || v > hi) return fail('VALUE_OUT_OF_RANGE', `value ${v} at entry ${i} of tensor ${id} is outside ${lo}..${hi}`);
    }
  }
  if (coverage) {
    const present = new Set(delta.tensors.map((t) => t.tensor));
    const missing = [...coverage.keys()].filter((t) => !present.has(t));
    if (missing.length) return fail('SCHEME_MISMATCH', `the scheme (${describeScheme(expect.scheme!)}) updates tensors ${missing.join(', ')}, which the delta does not cover`);
  }
  return { ok: true };
}
