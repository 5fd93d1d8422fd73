import type { Model, Tensor } from './ir';
import type { Interpreter } from './runtime/interpreter';
import type { TensorView } from './runtime/prepare';

/**
 * Results of one inference in the TFLite oracle's JSON shape (`inputs[]`, `outputs[]`,
 * `intermediates[]`, each tensor with `index`, `name`, `type`, `shape`, `scale`, `zeroPoint`,
 * `producer` and `data`), so that `tinyfleet run --json` and the oracle's `run.mjs` can be diffed.
 */
export interface ReportTensor {
  index: number;
  name: string;
  type: string;
  shape: number[];
  scale?: number | number[];
  zeroPoint?: number | number[];
  /** The op that wrote it: node index and TFLite op name. */
  producer?: { node: number; op: string };
  data: number[];
}

export interface RunReport {
  model: string;
  /** Seed of the input recipe, when the inputs were seeded. */
  seed?: number;
  runtime: { engine: 'tinyfleet'; rounding: string };
  inputs: ReportTensor[];
  outputs: ReportTensor[];
  /** Every other op output, ordered by tensor index (with `all`). */
  intermediates?: ReportTensor[];
  /** Milliseconds of the inference. */
  invokeMs: number[];
}

function describe(t: Tensor, data: TensorView, producer?: { node: number; op: string }): ReportTensor {
  const r: ReportTensor = { index: t.id, name: t.name, type: t.dtype, shape: [...t.shape], data: [] };
  if (t.quant) {
    r.scale = t.quant.scale.length === 1 ? t.quant.scale[0] : [...t.quant.scale];
    r.zeroPoint = t.quant.zeroPoint.length === 1 ? t.quant.zeroPoint[0] : [...t.quant.zeroPoint];
  }
  if (producer) r.producer = producer;
  // Same key order as the oracle's JSON, so the two diff line by line.
  const { data: _, ...head } = r;
  return { ...head, data: Array.from(data as ArrayLike<number | bigint>, Number) };
}

/** Runs one inference and reports it in the oracle's shape. */
export function runReport(
  interpreter: Interpreter,
  inputs: readonly TensorView[],
  options: { modelName: string; seed?: number; all?: boolean },
): RunReport {
  const model: Model = interpreter.model;
  const producers = new Map<number, { node: number; op: string }>();
  for (const op of model.ops) for (const id of op.outputs) producers.set(id, { node: op.index, op: op.kind });
  const t0 = performance.now();
  const result = interpreter.run(inputs, { all: options.all });
  const ms = performance.now() - t0;
  const report: RunReport = {
    model: options.modelName,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    runtime: { engine: 'tinyfleet', rounding: interpreter.rounding },
    inputs: model.inputs.map((id, k) => describe(model.tensors[id], inputs[k])),
    outputs: model.outputs.map((id, k) => describe(model.tensors[id], result.outputs[k], producers.get(id))),
    invokeMs: [ms],
  };
  if (result.intermediates) {
    report.intermediates = [...result.intermediates.keys()]
      .filter((id) => !model.outputs.includes(id))
      .sort((a, b) => a - b)
      .map((id) => describe(model.tensors[id], result.intermediates!.get(id)!, producers.get(id)));
  }
  return report;
}
