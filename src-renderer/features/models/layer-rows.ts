import type { CompileReport, GraphSummary } from '@contract';

/** One row of the per-layer table. */
export interface LayerRow {
  opIndex: number;
  kind: string;
  inputShapes: string;
  outputShape: string;
  macs: number;
  params: number;
  /** Live bytes at this op in the per-layer (in-place) plan; null for a PAD folded into its conv. */
  liveBytes: number | null;
  /** What the compiler did: "in-place", "alias", "folded into #n", "patched". */
  notes: string[];
  /** True at the op where the per-layer plan peaks. */
  peak: boolean;
}

const shape = (s: readonly number[]) => `[${s.join(', ')}]`;

/**
 * The per-layer table: shapes from the graph summary, MACs and what the compiler did from the
 * report, live bytes from the per-layer plan's timeline. Without a report, shapes and MACs only.
 */
export function buildLayerRows(graph: GraphSummary, report: CompileReport | null): LayerRow[] {
  const live = new Map<number, number>();
  for (const entry of report?.layerPlan.timeline ?? []) live.set(entry.opIndex, entry.liveBytes);
  const compiled = new Map((report?.layers ?? []).map((l) => [l.opIndex, l]));
  const peakOp = report?.layerPlan.peakOp.opIndex;
  return graph.layers.map((l) => {
    const c = compiled.get(l.opIndex);
    const notes: string[] = [];
    if (c?.inPlace) notes.push('in-place');
    if (c?.alias) notes.push('alias');
    if (c?.foldedInto !== undefined) notes.push(`folded into #${c.foldedInto}`);
    if (c?.patched) notes.push('patched');
    return {
      opIndex: l.opIndex,
      kind: l.kind,
      inputShapes: l.inputShapes.map(shape).join(' '),
      outputShape: l.outputShapes.map(shape).join(' '),
      macs: l.macs,
      params: l.params,
      liveBytes: live.get(l.opIndex) ?? null,
      notes,
      peak: peakOp === l.opIndex,
    };
  });
}
