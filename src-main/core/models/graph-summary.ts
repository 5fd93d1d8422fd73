import type { GraphSummary } from '../contract/models';
import { modelCost } from '../engine/cost/macs';
import type { Model } from '../engine/ir';

/**
 * What the registry shows about a model without planning its memory: inputs and outputs, ops by
 * kind, parameters, MACs, the Flash estimate and, per op, the shapes it reads (activations only,
 * not weights) and writes.
 */
export function summarizeGraph(model: Model): GraphSummary {
  const cost = modelCost(model);
  const opsByKind: Record<string, number> = {};
  for (const op of model.ops) opsByKind[op.kind] = (opsByKind[op.kind] ?? 0) + 1;
  const tensorInfo = (id: number) => {
    const t = model.tensors[id];
    return { id, name: t.name, shape: [...t.shape], dtype: t.dtype };
  };
  const summary: GraphSummary = {
    modelName: model.name,
    inputs: model.inputs.map(tensorInfo),
    outputs: model.outputs.map(tensorInfo),
    ops: model.ops.length,
    tensors: model.tensors.length,
    opsByKind,
    params: cost.params,
    macs: cost.macs,
    flashBytes: cost.flash.totalBytes,
    layers: model.ops.map((op, i) => ({
      opIndex: op.index,
      kind: op.kind,
      inputShapes: op.inputs.filter((id) => id >= 0 && model.tensors[id].data === undefined).map((id) => [...model.tensors[id].shape]),
      outputShapes: op.outputs.map((id) => [...model.tensors[id].shape]),
      macs: cost.perOp[i].macs,
      params: cost.perOp[i].params,
    })),
  };
  if (model.description) summary.description = model.description;
  return summary;
}
