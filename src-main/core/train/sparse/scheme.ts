/** Input-channel ratios a sparse weight update may use (the paper's search space). */
export const CHANNEL_RATIOS = [0, 1 / 8, 1 / 4, 1 / 2, 1] as const;
export type ChannelRatio = (typeof CHANNEL_RATIOS)[number];

/** Weights of one layer updated for the first ceil(ratio * inC) input channels. */
export interface WeightUpdate {
  /** Op index of the CONV_2D (or FULLY_CONNECTED) whose weights are updated. */
  op: number;
  ratio: ChannelRatio;
}

/**
 * A sparse update scheme: the biases of the last `biasLastN` weight layers (convs, depthwise,
 * the classifier counted among them), the weights of listed convs for their first input channels,
 * and the classifier (its weights and bias).
 */
export interface SparseScheme {
  biasLastN: number;
  weights: WeightUpdate[];
  classifier: boolean;
}

/** Bias-only update of the last n layers plus the classifier. */
export function biasOnlyScheme(n: number, classifier = true): SparseScheme {
  return { biasLastN: n, weights: [], classifier };
}

/** Human-readable one-line description. */
export function describeScheme(s: SparseScheme): string {
  const parts: string[] = [];
  if (s.biasLastN > 0) parts.push(`bias x${s.biasLastN}`);
  for (const w of s.weights) if (w.ratio > 0) parts.push(`W[op${w.op}]@${w.ratio}`);
  if (s.classifier) parts.push('classifier');
  return parts.length ? parts.join(' + ') : 'nothing';
}

/** Checks a scheme's shape (ratios from the allowed set, non-negative counts). */
export function validateScheme(s: SparseScheme): void {
  if (!Number.isInteger(s.biasLastN) || s.biasLastN < 0) throw new Error(`scheme biasLastN must be a non-negative integer, got ${s.biasLastN}`);
  const seen = new Set<number>();
  for (const w of s.weights) {
    if (!(CHANNEL_RATIOS as readonly number[]).includes(w.ratio)) {
      throw new Error(`scheme ratio ${w.ratio} for op ${w.op} is not one of ${CHANNEL_RATIOS.join(', ')}`);
    }
    if (seen.has(w.op)) throw new Error(`scheme lists op ${w.op} twice`);
    seen.add(w.op);
  }
}
