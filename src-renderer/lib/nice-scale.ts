/** An axis range with round ticks: 1, 2 or 5 times a power of ten apart. */
export interface NiceScale {
  min: number;
  max: number;
  step: number;
  ticks: number[];
  /** Decimals that show every tick exactly (0 for steps of 1 and up). */
  decimals: number;
}

/**
 * Widens [min, max] to multiples of a round step giving about `intervals` intervals, so that an
 * axis reads 20, 25, 30 rather than 21.37, 24.91. A flat series gets a range around its value.
 */
export function niceScale(min: number, max: number, intervals = 4): NiceScale {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return niceScale(0, 1, intervals);
  if (min > max) [min, max] = [max, min];
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.05;
    min -= pad;
    max += pad;
  }
  const raw = (max - min) / Math.max(1, intervals);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw * (1 - 1e-9)) ?? 10 * power;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const round = (v: number) => Number(v.toFixed(decimals));
  const lo = round(Math.floor(min / step + 1e-9) * step);
  const hi = round(Math.ceil(max / step - 1e-9) * step);
  const ticks: number[] = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) ticks.push(round(lo + i * step));
  return { min: lo, max: hi, step, ticks, decimals };
}
