import { tensorBytes, type Model, type Op, type OpKind, type Tensor } from '../ir';
import { addPadding, explicitPadding, isWindowOp, windowOf, type ExplicitPadding } from './geometry';

/** Which of TinyEngine's graph rewrites to apply. All off gives the naive/TFLM graph. */
export interface RewriteOptions {
  /** Fold a PAD into the following CONV_2D/DEPTHWISE_CONV_2D as explicit padding. */
  fusePad: boolean;
  /** Let a DEPTHWISE_CONV_2D with C_in == C_out write its output over its input. */
  inPlaceDepthwise: boolean;
  /** RESHAPE/SQUEEZE outputs share their input's bytes. */
  aliasReshape: boolean;
}

export const ALL_REWRITES: RewriteOptions = Object.freeze({ fusePad: true, inPlaceDepthwise: true, aliasReshape: true });
export const NO_REWRITES: RewriteOptions = Object.freeze({ fusePad: false, inPlaceDepthwise: false, aliasReshape: false });

/** One executed step of the schedule: an op of the model after the rewrites. */
export interface ScheduleStep {
  /** Position in the schedule. */
  step: number;
  /** The op's TFLite node index. */
  opIndex: number;
  kind: OpKind;
  /** Tensor ids read, after rewrites (a fused PAD's consumer reads the PAD's input); -1 = omitted. */
  inputs: number[];
  outputs: number[];
  /** Node index of the PAD folded into this op's padding. */
  fusedPad?: number;
  /** Explicit padding of window ops (conv, depthwise, pools), including a fused PAD. */
  padding?: ExplicitPadding;
  /** Depthwise that writes its output over its input (output shares the input's bytes). */
  inPlace: boolean;
  /** RESHAPE/SQUEEZE whose output is its input's bytes: nothing runs. */
  alias: boolean;
}

/** The model's ops in execution order after the graph rewrites. */
export interface Schedule {
  model: Model;
  rewrites: RewriteOptions;
  steps: ScheduleStep[];
  /** For each aliased or in-place tensor, the tensor whose bytes it uses (transitively resolved). */
  sharesBytesWith: Map<number, number>;
}

/** True for tensors that live in the activation arena (not constants). */
export function isArenaTensor(t: Tensor | undefined): t is Tensor {
  return t !== undefined && t.data === undefined;
}

/** Reads a PAD's paddings tensor ([rank, 2] int32 or int64). */
export function readPaddings(model: Model, op: Extract<Op, { kind: 'PAD' }>): number[][] {
  const t = model.tensors[op.inputs[1]];
  if (!t?.data) throw new Error(`PAD at node ${op.index}: paddings tensor ${op.inputs[1]} is not constant`);
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const rank = t.shape[0];
  const rows: number[][] = [];
  for (let i = 0; i < rank; i++) {
    const get = (j: number) =>
      t.dtype === 'int64' ? Number(view.getBigInt64((i * 2 + j) * 8, true)) : view.getInt32((i * 2 + j) * 4, true);
    rows.push([get(0), get(1)]);
  }
  return rows;
}

function sameQuant(a: Tensor, b: Tensor): boolean {
  const qa = a.quant;
  const qb = b.quant;
  if (!qa || !qb) return !qa && !qb;
  return qa.scale.length === 1 && qb.scale.length === 1 && qa.scale[0] === qb.scale[0] && qa.zeroPoint[0] === qb.zeroPoint[0];
}

/** Users of each tensor: the op positions (in model.ops) that read it. */
function consumersOf(model: Model): Map<number, number[]> {
  const users = new Map<number, number[]>();
  model.ops.forEach((op, pos) => {
    for (const t of op.inputs) {
      if (t < 0) continue;
      const list = users.get(t) ?? [];
      list.push(pos);
      users.set(t, list);
    }
  });
  return users;
}

/**
 * Pads of a PAD that can be folded into its single CONV_2D/DEPTHWISE_CONV_2D consumer: it pads only
 * H and W, with the input's zero point (same quantization in and out), and nothing else reads it.
 */
function fusablePad(model: Model, op: Op, users: Map<number, number[]>): { consumer: number; pads: ExplicitPadding } | undefined {
  if (op.kind !== 'PAD') return undefined;
  const input = model.tensors[op.inputs[0]];
  const output = model.tensors[op.outputs[0]];
  if (!input || !output || input.shape.length !== 4 || (input.dtype !== 'int8' && input.dtype !== 'uint8')) return undefined;
  if (!sameQuant(input, output) || model.outputs.includes(output.id)) return undefined;
  const p = readPaddings(model, op);
  if (p[0][0] || p[0][1] || p[3][0] || p[3][1]) return undefined;
  const readers = users.get(output.id) ?? [];
  if (readers.length !== 1) return undefined;
  const consumer = model.ops[readers[0]];
  if ((consumer.kind !== 'CONV_2D' && consumer.kind !== 'DEPTHWISE_CONV_2D') || consumer.inputs[0] !== output.id) return undefined;
  if (consumer.inputs.slice(1).includes(output.id)) return undefined;
  return { consumer: readers[0], pads: { top: p[1][0], bottom: p[1][1], left: p[2][0], right: p[2][1] } };
}

/**
 * Builds the schedule: the model's ops in order with the chosen rewrites applied. In-place depthwise
 * is decided here because it needs the input's last use, which the earlier rewrites change.
 */
export function buildSchedule(model: Model, rewrites: RewriteOptions): Schedule {
  const users = consumersOf(model);
  const foldedInto = new Map<number, { pad: Op; pads: ExplicitPadding }>();
  const skipped = new Set<number>();
  if (rewrites.fusePad) {
    model.ops.forEach((op, pos) => {
      const f = fusablePad(model, op, users);
      if (!f) return;
      foldedInto.set(f.consumer, { pad: op, pads: f.pads });
      skipped.add(pos);
    });
  }

  const steps: ScheduleStep[] = [];
  model.ops.forEach((op, pos) => {
    if (skipped.has(pos)) return;
    const fold = foldedInto.get(pos);
    const inputs = [...op.inputs];
    if (fold) inputs[0] = fold.pad.inputs[0];
    const step: ScheduleStep = { step: steps.length, opIndex: op.index, kind: op.kind, inputs, outputs: [...op.outputs], inPlace: false, alias: false };
    if (fold) step.fusedPad = fold.pad.index;
    if (isWindowOp(op)) {
      // SAME/VALID are resolved against what the op originally read (the PAD's output when folded).
      const seen = model.tensors[op.inputs[0]];
      const own = explicitPadding(op.options.padding, seen.shape[1], seen.shape[2], windowOf(model, op));
      step.padding = fold ? addPadding(own, fold.pads) : own;
    }
    if (rewrites.aliasReshape && (op.kind === 'RESHAPE' || op.kind === 'SQUEEZE')) {
      const src = model.tensors[op.inputs[0]];
      const dst = model.tensors[op.outputs[0]];
      step.alias = isArenaTensor(src) && isArenaTensor(dst) && src.dtype === dst.dtype && tensorBytes(src) === tensorBytes(dst);
    }
    steps.push(step);
  });

  const sharesBytesWith = new Map<number, number>();
  const root = (t: number): number => sharesBytesWith.get(t) ?? t;
  for (const s of steps) if (s.alias) sharesBytesWith.set(s.outputs[0], root(s.inputs[0]));

  if (rewrites.inPlaceDepthwise) {
    const lastUse = lastUseByRoot(model, steps, root);
    for (const s of steps) {
      if (s.kind !== 'DEPTHWISE_CONV_2D') continue;
      const op = model.ops.find((o) => o.index === s.opIndex) as Extract<Op, { kind: 'DEPTHWISE_CONV_2D' }>;
      const input = model.tensors[s.inputs[0]];
      const output = model.tensors[s.outputs[0]];
      if (!isArenaTensor(input) || input.dtype !== 'int8' || output.dtype !== 'int8') continue;
      if (op.options.depthMultiplier !== 1 || input.shape[3] !== output.shape[3]) continue;
      if (tensorBytes(output) > tensorBytes(input)) continue;
      const r = root(s.inputs[0]);
      if (lastUse.get(r) !== s.step) continue;
      s.inPlace = true;
      sharesBytesWith.set(s.outputs[0], r);
    }
    // An alias made earlier of a tensor that has since become an in-place output points one hop short.
    for (const [t, owner] of sharesBytesWith) sharesBytesWith.set(t, root(owner));
  }
  return { model, rewrites, steps, sharesBytesWith };
}

/** Last step reading any tensor of each byte-sharing group (model outputs count as read at the end). */
function lastUseByRoot(model: Model, steps: ScheduleStep[], root: (t: number) => number): Map<number, number> {
  const last = new Map<number, number>();
  for (const s of steps) for (const t of s.inputs) if (t >= 0) last.set(root(t), s.step);
  for (const t of model.outputs) last.set(root(t), Number.POSITIVE_INFINITY);
  return last;
}
