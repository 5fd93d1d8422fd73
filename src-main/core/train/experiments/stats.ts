/** Summary statistics of a list of numbers. */
export interface Summary {
  n: number;
  mean: number;
  std: number;
  min: number;
  median: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  if (n === 0) return { n: 0, mean: 0, std: 0, min: 0, median: 0, max: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(n - 1, 1));
  const sorted = [...values].sort((a, b) => a - b);
  const median = n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  return { n, mean, std, min: sorted[0], median, max: sorted[n - 1] };
}

/** Rounds for reports (4 decimals). */
export const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
