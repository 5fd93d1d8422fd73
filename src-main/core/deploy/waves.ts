/**
 * How a deployment's targets are split into waves: a canary (a count or a share of the targets),
 * then cumulative percentage steps up to 100 %. The order spreads MCU classes evenly, so a canary
 * of five devices on a mixed fleet meets as many kinds of device as it can.
 */

/** The wave settings of a deployment. */
export interface WavePolicy {
  /** Canary size: a device count, or a share of the targets in percent (at least one device). */
  canary: { count: number } | { percent: number };
  /** Cumulative percentages after the canary, ascending, ending at 100 (e.g. [25, 50, 100]); empty means [100]. */
  steps: number[];
}

/** One target as the planner sees it. */
export interface WaveTarget {
  id: string;
  mcu: string;
}

/**
 * Orders targets so consecutive devices alternate between MCU classes (round robin over classes,
 * each class in id order), then assigns each to a wave. Returns the wave index per device id and
 * the size of every wave.
 */
export function planWaves(targets: readonly WaveTarget[], policy: WavePolicy): { waveOf: Map<string, number>; sizes: number[] } {
  validatePolicy(policy);
  const byMcu = new Map<string, WaveTarget[]>();
  for (const t of [...targets].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const list = byMcu.get(t.mcu) ?? [];
    list.push(t);
    byMcu.set(t.mcu, list);
  }
  const classes = [...byMcu.keys()].sort();
  const ordered: WaveTarget[] = [];
  for (let i = 0; ordered.length < targets.length; i++) for (const mcu of classes) if (byMcu.get(mcu)![i]) ordered.push(byMcu.get(mcu)![i]);

  const n = ordered.length;
  const canary = 'count' in policy.canary ? policy.canary.count : Math.ceil((policy.canary.percent / 100) * n);
  const bounds = [Math.min(n, Math.max(n > 0 ? 1 : 0, canary))];
  for (const pct of policy.steps.length ? policy.steps : [100]) bounds.push(Math.max(bounds[bounds.length - 1], Math.min(n, Math.ceil((pct / 100) * n))));
  // Drop empty waves (a canary that already covers a step), but keep at least one.
  const ends = bounds.filter((b, i) => i === 0 || b > bounds[i - 1]);
  const waveOf = new Map<string, number>();
  let wave = 0;
  ordered.forEach((t, i) => {
    while (i >= ends[wave]) wave++;
    waveOf.set(t.id, wave);
  });
  const sizes = ends.map((end, i) => end - (i === 0 ? 0 : ends[i - 1]));
  return { waveOf, sizes };
}

/** Throws naming the problem when a policy cannot be planned. */
export function validatePolicy(policy: WavePolicy): void {
  if ('count' in policy.canary && (!Number.isInteger(policy.canary.count) || policy.canary.count < 1)) throw new Error('the canary needs at least one device');
  if ('percent' in policy.canary && !(policy.canary.percent > 0 && policy.canary.percent <= 100)) throw new Error('the canary percentage must be in (0, 100]');
  let last = 0;
  for (const pct of policy.steps) {
    if (!(pct > last && pct <= 100)) throw new Error(`wave steps must ascend within (0, 100]; ${pct} follows ${last}`);
    last = pct;
  }
  if (policy.steps.length > 0 && last !== 100) throw new Error('the last wave step must be 100 (every target)');
}
