import { type Model, elementCount, tensorBytes } from '../ir';
import { constInt32s } from './constants';
import { type FusedPad, type PreparedOp, type TensorView, inPlacePlaneBytes, prepareOp, runDepthwiseInPlace, runPrepared } from './prepare';
import type { RoundingMode } from './requantize';
import { allocateView, constantView, viewOf } from './tensor-memory';

/**
 * Runs a model with every activation inside ONE ArrayBuffer at given byte offsets, so that a memory
 * plan is proven by executing it: a plan that overlaps two live tensors corrupts the results.
 *
 * - `offsets`: byte offset of every activation tensor that is materialised (graph inputs and
 *   outputs included). Outputs of fused PADs need none. RESHAPE/SQUEEZE outputs placed at their
 *   input's offset alias it (nothing is copied).
 * - `inPlace`: node indices of DEPTHWISE_CONV_2D ops that write their output over their input; their
 *   output offset must equal their input offset, and they use the plane scratch at `scratchOffset`
 *   (inPlacePlaneBytes() bytes, e.g. from `Interpreter.planeBytes(node)`).
 * - `fusedPads`: node indices of PADs folded into the CONV_2D/DEPTHWISE_CONV_2D reading their output:
 *   the PAD does not run, the convolution reads the PAD's input with the PAD's H/W padding added.
 */
export interface ArenaLayout {
  arena: ArrayBuffer;
  offsets: ReadonlyMap<number, number>;
  inPlace?: ReadonlySet<number>;
  scratchOffset?: number;
  fusedPads?: ReadonlySet<number>;
}

export interface InterpreterOptions {
  /** Requantization rounding (default `tflm`). */
  rounding?: RoundingMode;
  /** Run inside one arena at planned offsets instead of one heap buffer per tensor. */
  arena?: ArenaLayout;
}

export interface RunOptions {
  /** Also return every op's output (copies taken right after each op, so arena reuse cannot clobber them). */
  all?: boolean;
}

export interface RunResult {
  /** Copies of the model's outputs, in model.outputs order. */
  outputs: TensorView[];
  /** Every op output by tensor id, in execution order (with `all`). */
  intermediates?: Map<number, TensorView>;
}

export interface Interpreter {
  readonly model: Model;
  readonly rounding: RoundingMode;
  /** The prepared ops in execution order (fused PADs left out). */
  readonly steps: readonly PreparedOp[];
  /**
   * Runs one inference. `inputs` in model.inputs order, each a typed array of the input's dtype and
   * size. Variable tensors (an SVDF's activation state) carry over from one run to the next.
   */
  run(inputs: readonly TensorView[], options?: RunOptions): RunResult;
  /** Sets every variable tensor to its zero point (TFLite's ResetVariableTensors), as after creation. */
  reset(): void;
}

/** Creates an interpreter: prepares every op once (multipliers, tables, working arrays) and lays out memory. */
export function createInterpreter(model: Model, options: InterpreterOptions = {}): Interpreter {
  const rounding = options.rounding ?? 'tflm';
  const layout = options.arena;
  const T = model.tensors;

  const fused = new Map<number, FusedPad>(); // consumer node -> fused PAD
  const skipped = new Set<number>();
  for (const padNode of layout?.fusedPads ?? []) {
    const pad = model.ops.find((o) => o.index === padNode);
    if (!pad || pad.kind !== 'PAD') throw new Error(`fusedPads: node ${padNode} is not a PAD`);
    const consumer = model.ops.find((o) => o.inputs[0] === pad.outputs[0] && (o.kind === 'CONV_2D' || o.kind === 'DEPTHWISE_CONV_2D'));
    if (!consumer) throw new Error(`fusedPads: PAD at node ${padNode} does not feed a convolution`);
    const pads = constInt32s(T[pad.inputs[1]])!;
    if (pads[0] || pads[1] || pads[6] || pads[7]) throw new Error(`fusedPads: PAD at node ${padNode} pads more than H and W`);
    fused.set(consumer.index, { input: pad.inputs[0], padTop: pads[2], padLeft: pads[4] });
    skipped.add(padNode);
  }
  const steps = model.ops.filter((op) => !skipped.has(op.index)).map((op) => prepareOp(model, op, rounding, fused.get(op.index)));

  // Views of every tensor: constants once, activations on the heap or in the arena.
  const views: (TensorView | undefined)[] = new Array(T.length);
  for (const t of T) if (t.data) views[t.id] = constantView(t);
  const needed = new Set<number>(model.inputs);
  for (const s of steps) {
    for (const id of s.inputs) if (id >= 0 && !T[id].data) needed.add(id);
    for (const id of s.outputs) needed.add(id);
  }
  let plane: Int8Array | undefined;
  if (layout) {
    for (const id of needed) {
      const off = layout.offsets.get(id);
      const t = T[id];
      if (off === undefined) throw new Error(`arena: no offset for tensor ${id} "${t.name}"`);
      const bytes = tensorBytes(t);
      const align = bytes / elementCount(t.shape);
      if (off < 0 || off + bytes > layout.arena.byteLength) throw new Error(`arena: tensor ${id} at ${off} (+${bytes}) outside the ${layout.arena.byteLength}-byte arena`);
      if (off % align !== 0) throw new Error(`arena: tensor ${id} (${t.dtype}) at offset ${off} is not ${align}-byte aligned`);
      views[id] = viewOf(t.dtype, layout.arena, off, elementCount(t.shape));
    }
    const planeBytes = Math.max(0, ...steps.filter((s) => layout.inPlace?.has(s.op.index)).map(inPlacePlaneBytes));
    if (planeBytes > 0) {
      const at = layout.scratchOffset;
      if (at === undefined || at < 0 || at + planeBytes > layout.arena.byteLength) throw new Error(`arena: in-place depthwise needs ${planeBytes} scratch bytes at scratchOffset`);
      plane = new Int8Array(layout.arena, at, planeBytes);
    }
    for (const node of layout.inPlace ?? []) {
      const s = steps.find((x) => x.op.index === node);
      if (!s || s.kernel.kind !== 'depthwise' || s.kernel.params.depthMultiplier !== 1) throw new Error(`inPlace: node ${node} is not a depthwise convolution with depth multiplier 1`);
      if (layout.offsets.get(s.inputs[0]) !== layout.offsets.get(s.outputs[0])) throw new Error(`inPlace: node ${node} output must be placed at its input's offset`);
    }
  } else {
    for (const id of needed) views[id] = allocateView(T[id]);
  }

  // Everything a run touches is resolved here once, so a run allocates nothing but the output copies.
  const inputViews = model.inputs.map((id) => views[id]!);
  const outputViews = model.outputs.map((id) => views[id]!);
  const stepInputs = steps.map((s) => s.inputs.map((id) => (id >= 0 ? views[id] : undefined)));
  const stepOutputs = steps.map((s) => s.outputs.map((id) => views[id]!));
  const inPlaceSpans = steps.map((s) => {
    if (!plane || !layout?.inPlace?.has(s.op.index)) return undefined;
    const inView = views[s.inputs[0]] as Int8Array;
    const outView = views[s.outputs[0]] as Int8Array;
    return new Int8Array(inView.buffer, inView.byteOffset, Math.max(inView.length, outView.length));
  });

  const variables = [...needed].filter((id) => T[id].isVariable).map((id) => ({ view: views[id]!, zeroPoint: T[id].quant?.zeroPoint[0] ?? 0 }));
  const reset = () => {
    for (const v of variables) (v.view as Int8Array).fill(v.zeroPoint);
  };
  reset();

  const run = (inputs: readonly TensorView[], runOptions?: RunOptions): RunResult => {
    if (inputs.length !== inputViews.length) throw new Error(`model has ${inputViews.length} inputs, got ${inputs.length}`);
    for (let k = 0; k < inputViews.length; k++) {
      const v = inputViews[k];
      if (inputs[k].length !== v.length || inputs[k].constructor !== v.constructor) {
        const t = T[model.inputs[k]];
        throw new Error(`input ${k} (${t.name}): expected ${t.dtype}[${t.shape.join(', ')}]`);
      }
      (v as Int8Array).set(inputs[k] as Int8Array);
    }
    const intermediates = runOptions?.all ? new Map<number, TensorView>() : undefined;
    for (let i = 0; i < steps.length; i++) {
      const s = steps[i];
      const span = inPlaceSpans[i];
      if (span) runDepthwiseInPlace(s, span, plane!);
      else runPrepared(s, stepInputs[i], stepOutputs[i]);
      if (intermediates) for (const id of s.outputs) intermediates.set(id, views[id]!.slice());
    }
    const outputs: TensorView[] = new Array(outputViews.length);
    for (let k = 0; k < outputViews.length; k++) outputs[k] = outputViews[k].slice();
    return { outputs, intermediates };
  };

  return { model, rounding, steps, run, reset };
}
