import type { Model, Op, Tensor } from './ir';

/**
 * How a compiled model meets the firmware at its edges:
 * - `int8`: the firmware hands over int8 inputs and takes int8 outputs (it quantizes the camera frame
 *   or reads an int8 sensor, as TinyEngine's generated code and most TFLite Micro firmware do). A
 *   leading QUANTIZE (float -> int8) and a trailing DEQUANTIZE (int8 -> float) are left to it, and
 *   the arena holds only int8 tensors.
 * - `float`: the model runs as the TFLite file says, float edges included.
 */
export type IoConvention = 'int8' | 'float';

/** The default for MCU builds (compile, package, C bundle, models.analyze/build), as TinyEngine does. */
export const DEFAULT_IO_CONVENTION: IoConvention = 'int8';

/** One input or output of the compiled model as the firmware sees it. */
export interface IoTensor {
  /** Tensor id in the compiled model (the TFLite tensor index). */
  tensor: number;
  name: string;
  dtype: string;
  shape: number[];
  /** Per-tensor quantization, when the tensor is quantized: real = scale * (q - zeroPoint). */
  scale?: number;
  zeroPoint?: number;
  /**
   * With `int8`, the op left to the firmware at this edge: QUANTIZE for an input (the firmware
   * computes q = clamp(round(x / scale) + zeroPoint, -128, 127)), DEQUANTIZE for an output
   * (x = scale * (q - zeroPoint)), and the float tensor of the TFLite file it replaces.
   */
  firmwareOp?: { kind: 'QUANTIZE' | 'DEQUANTIZE'; opIndex: number; floatTensor: number };
}

/** A model prepared for one I/O convention, with what its edges are. */
export interface IoModel {
  convention: IoConvention;
  /** The model the planner, runtime, code generator and package use. */
  model: Model;
  inputs: IoTensor[];
  outputs: IoTensor[];
}

function perTensorQuant(t: Tensor): { scale: number; zeroPoint: number } | undefined {
  return t.quant && t.quant.scale.length === 1 ? { scale: t.quant.scale[0], zeroPoint: t.quant.zeroPoint[0] } : undefined;
}

function describe(t: Tensor, firmwareOp?: IoTensor['firmwareOp']): IoTensor {
  return { tensor: t.id, name: t.name, dtype: t.dtype, shape: [...t.shape], ...perTensorQuant(t), ...(firmwareOp ? { firmwareOp } : {}) };
}

/** Users of a tensor among the ops. */
function readersOf(model: Model, tensor: number): Op[] {
  return model.ops.filter((op) => op.inputs.includes(tensor));
}

/** An int8 per-tensor-quantized activation: what the firmware can produce or consume itself. */
function isInt8Edge(t: Tensor | undefined): t is Tensor {
  return t !== undefined && t.data === undefined && t.dtype === 'int8' && perTensorQuant(t) !== undefined;
}

/**
 * Applies an I/O convention. With `int8`, a model input whose only reader is a QUANTIZE to int8 is
 * replaced by that QUANTIZE's output, and a model output written by a DEQUANTIZE of an int8 tensor is
 * replaced by that tensor; the QUANTIZE/DEQUANTIZE ops go (their node indices stay those of the
 * TFLite file). Models whose edges are int8 already, and the `float` convention, are unchanged.
 */
export function applyIoConvention(model: Model, convention: IoConvention): IoModel {
  if (convention === 'float') return { convention, model, inputs: model.inputs.map((t) => describe(model.tensors[t])), outputs: model.outputs.map((t) => describe(model.tensors[t])) };
  if (convention !== 'int8') throw new Error(`unknown I/O convention "${String(convention)}": expected int8 or float`);
  const dropped = new Set<Op>();
  const inputs: IoTensor[] = [];
  const outputs: IoTensor[] = [];
  const newInputs = model.inputs.map((id) => {
    const t = model.tensors[id];
    const readers = readersOf(model, id);
    const q = readers.length === 1 && readers[0].kind === 'QUANTIZE' ? readers[0] : undefined;
    const out = q ? model.tensors[q.outputs[0]] : undefined;
    if (t.dtype !== 'float32' || !q || !isInt8Edge(out) || model.outputs.includes(id) || model.inputs.includes(out.id)) {
      inputs.push(describe(t));
      return id;
    }
    dropped.add(q);
    inputs.push(describe(out, { kind: 'QUANTIZE', opIndex: q.index, floatTensor: id }));
    return out.id;
  });
  const newOutputs = model.outputs.map((id) => {
    const t = model.tensors[id];
    const d = model.ops.find((op) => op.outputs.includes(id));
    const src = d?.kind === 'DEQUANTIZE' ? model.tensors[d.inputs[0]] : undefined;
    if (t.dtype !== 'float32' || !d || !isInt8Edge(src) || model.outputs.includes(src.id) || readersOf(model, id).length > 0) {
      outputs.push(describe(t));
      return id;
    }
    dropped.add(d);
    outputs.push(describe(src, { kind: 'DEQUANTIZE', opIndex: d.index, floatTensor: id }));
    return src.id;
  });
  if (dropped.size === 0) return { convention, model, inputs, outputs };
  return { convention, model: { ...model, ops: model.ops.filter((op) => !dropped.has(op)), inputs: newInputs, outputs: newOutputs }, inputs, outputs };
}
