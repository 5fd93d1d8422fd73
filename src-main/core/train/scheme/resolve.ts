import type { Model } from '../../engine/ir';
import { standardSchemes } from '../experiments/standard-schemes';
import { validateScheme, type SparseScheme } from '../sparse/scheme';

/** The standard schemes by the names users give them. */
export const SCHEME_NAMES = ['bias', 'sparse', 'full', 'classifier'] as const;
export type SchemeName = (typeof SCHEME_NAMES)[number];

/** A scheme as asked for: a standard one by name, or an explicit one (missing parts take defaults). */
export type SchemeSpec = SchemeName | Partial<SparseScheme>;

/** True when `value` names a standard scheme. */
export function isSchemeName(value: string): value is SchemeName {
  return (SCHEME_NAMES as readonly string[]).includes(value);
}

/**
 * The scheme `spec` asks for on `model`: a named standard scheme resolved on the model's layers, or
 * an explicit one with defaults (no biases, no weights, the classifier) and validated.
 */
export function resolveScheme(model: Model, spec: SchemeSpec): SparseScheme {
  if (typeof spec === 'string') {
    const standard = standardSchemes(model);
    const named: Record<SchemeName, SparseScheme> = { bias: standard.biasOnly, sparse: standard.sparse, full: standard.full, classifier: standard.classifier };
    return named[spec];
  }
  const scheme = { biasLastN: spec.biasLastN ?? 0, weights: spec.weights ?? [], classifier: spec.classifier ?? true };
  validateScheme(scheme);
  return scheme;
}
