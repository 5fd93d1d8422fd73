import type { CompileReport, McuProfile } from '@contract';

/** One plan drawn on the memory timeline. */
export interface TimelineSeries {
  key: 'naive' | 'ours' | 'patch';
  label: string;
  color: string;
  /** Live bytes per op (x = op position); null where the plan has no step of its own (a fused PAD). */
  values: (number | null)[];
  peakBytes: number;
  /** Short name for the peak label. */
  short: string;
  /** Position of the plan's peak op on the x axis. */
  peakX: number;
}

/** A horizontal line: the activation arena an MCU leaves after the runtime's own SRAM. */
export interface SramLine {
  id: string;
  label: string;
  bytes: number;
  /** True when the line lies above the drawn range (listed, not drawn). */
  offChart: boolean;
}

/** Everything the timeline chart draws, built from a report without the DOM (unit-tested). */
export interface MemoryTimeline {
  /** Op positions 0..ops-1. */
  x: number[];
  /** Op kind per position, for the cursor legend. */
  kinds: string[];
  series: TimelineSeries[];
  lines: SramLine[];
  yMax: number;
}

type Plan = CompileReport['layerPlan'];

/** Live bytes of a plan per op position; a patch stage step stands for every op it covers. */
function perOp(plan: Plan, ops: number): (number | null)[] {
  const values: (number | null)[] = new Array<number | null>(ops).fill(null);
  for (const entry of plan.timeline) {
    for (const op of entry.coversOps ?? [entry.opIndex]) {
      if (op >= 0 && op < ops) values[op] = Math.max(values[op] ?? 0, entry.liveBytes);
    }
  }
  return values;
}

/** The plan's own peak op (where its arena peaks), placed on the op axis. */
function peakOf(plan: Plan, values: (number | null)[]): { peakBytes: number; peakX: number } {
  const at = plan.peakOp.opIndex;
  if (at >= 0 && at < values.length && values[at] !== null) return { peakBytes: plan.peakBytes, peakX: at };
  let peakX = 0;
  for (let i = 0; i < values.length; i++) if ((values[i] ?? -1) > (values[peakX] ?? -1)) peakX = i;
  return { peakBytes: plan.peakBytes, peakX };
}

/**
 * Series for the naive plan (no fusion, no in-place), ours (PAD fusion, in-place depthwise,
 * aliases) and, when applied, the patch-based plan, over the model's ops; plus the arena budget of
 * the chosen MCU profiles. Lines far above the data (more than 3x the highest peak drawn) are
 * listed as off the chart rather than squashing the series flat.
 */
export function buildMemoryTimeline(report: CompileReport, profiles: readonly McuProfile[]): MemoryTimeline {
  const ops = report.layers.length;
  const x = Array.from({ length: ops }, (_, i) => i);
  const kinds = x.map((i) => report.layers[i]?.kind ?? '');
  const plans: [TimelineSeries['key'], string, string, string, Plan | undefined][] = [
    ['naive', 'Naive (no fusion, no in-place)', 'naive', '#9aa5b1', report.baselines.naive],
    ['ours', 'In-place (ours)', 'in-place', '#2f7de1', report.layerPlan],
    ['patch', `Patch-based ${report.patch.n}x${report.patch.n}`, 'patch', '#1aa37a', report.patch.applied ? report.patch.plan : undefined],
  ];
  const series: TimelineSeries[] = [];
  for (const [key, label, short, color, plan] of plans) {
    if (!plan) continue;
    const values = perOp(plan, ops);
    series.push({ key, label, short, color, values, ...peakOf(plan, values) });
  }
  const dataMax = Math.max(1, ...series.map((s) => Math.max(s.peakBytes, ...s.values.map((v) => v ?? 0))));
  const budgets = profiles.map((p) => ({ id: p.id, label: `${p.name} arena`, bytes: Math.max(0, p.sramBytes - report.runtimeSramBytes) }));
  const drawable = budgets.filter((b) => b.bytes <= dataMax * 3);
  const yMax = Math.max(dataMax, ...drawable.map((b) => b.bytes)) * 1.08;
  const lines = budgets.map((b) => ({ ...b, offChart: b.bytes > yMax }));
  return { x, kinds, series, lines, yMax };
}
