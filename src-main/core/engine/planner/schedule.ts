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
  /**
   * A residual block's projection (a 1x1 CONV_2D read only by the ADD that follows it) writes over
   * its input, and the ADD writes over its skip operand: the block never holds the expanded tensor,
   * the projection and the skip at once (see overwriteResidual).
   */
  overwriteResidual: boolean;
}

/**
 * The rewrites every plan uses. overwriteResidual is not among them: planModel applies it on top
 * only where it does not raise the peak, and a package's reader turns it on when the package's steps
 * carry overwrites.
 */
export const ALL_REWRITES: RewriteOptions = Object.freeze({ fusePad: true, inPlaceDepthwise: true, aliasReshape: true, overwriteResidual: false });
export const NO_REWRITES: RewriteOptions = Object.freeze({ fusePad: false, inPlaceDepthwise: false, aliasReshape: false, overwriteResidual: false });

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
  /**
   * The ordinary kernel writes the output over the bytes of the input `tensor`, starting `shift`
   * bytes from that input's start (negative: before it), which the kernel's order makes safe.
   */
  overwrites?: { tensor: number; shift: number };
}

/** The model's ops in execution order after the graph rewrites. */
export interface Schedule {
  model: Model;
  rewrites: RewriteOptions;
  steps: ScheduleStep[];
  /** For each aliased or in-place tensor, the tensor whose bytes it uses (transitively resolved). */
  sharesBytesWith: Map<number, number>;
  /** Where a sharing tensor starts relative to the tensor whose bytes it uses, in bytes (absent: 0). */
  byteShift: Map<number, number>;
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
  const byteShift = new Map<number, number>();
  if (rewrites.overwriteResidual) overwriteResidual(model, steps, sharesBytesWith, byteShift);
  return { model, rewrites, steps, sharesBytesWith, byteShift };
}

/**
 * Marks the residual projections that can write over their input and the ADDs that can write over
 * their skip operand, and records the byte sharing (owners resolved, shifts relative to the owner).
 *
 * The projection: a 1x1 CONV_2D, stride 1, no padding, int8, C_out <= C_in, whose input is last read
 * here and whose output only the next step reads, an elementwise ADD. Both kernels (TS and C) finish
 * reading input pixel p before writing output pixel p, pixels in order, so output pixel p may lie
 * anywhere below input pixel p: the output starts C_out bytes (word-aligned) before the input, and
 * the group grows by that much. The ADD reads element i of both operands before writing element i,
 * so its output takes the skip operand's bytes when the skip is last read there.
 */
function overwriteResidual(model: Model, steps: ScheduleStep[], sharesBytesWith: Map<number, number>, byteShift: Map<number, number>): void {
  const root = (t: number): number => sharesBytesWith.get(t) ?? t;
  const shiftOf = (t: number): number => byteShift.get(t) ?? 0;
  const readers = new Map<number, number[]>();
  for (const s of steps) for (const t of s.inputs) if (t >= 0) readers.set(t, [...(readers.get(t) ?? []), s.step]);
  const isInt8Arena = (t: number) => isArenaTensor(model.tensors[t]) && model.tensors[t].dtype === 'int8';
  const boundary = new Set([...model.inputs, ...model.outputs]);
  for (const s of steps.slice(0, -1)) {
    const next = steps[s.step + 1];
    if (s.kind !== 'CONV_2D' || next.kind !== 'ADD' || s.inPlace || s.alias) continue;
    const op = model.ops.find((o) => o.index === s.opIndex) as Extract<Op, { kind: 'CONV_2D' }>;
    const [input, filter] = [model.tensors[s.inputs[0]], model.tensors[s.inputs[1]]];
    const [projection] = s.outputs;
    const out = model.tensors[projection];
    const p = s.padding!;
    if (filter.shape[1] !== 1 || filter.shape[2] !== 1 || op.options.strideH !== 1 || op.options.strideW !== 1) continue;
    if (p.top || p.bottom || p.left || p.right || out.shape[3] > input.shape[3]) continue;
    if (![s.inputs[0], projection].every(isInt8Arena) || boundary.has(s.inputs[0]) || boundary.has(projection)) continue;
    const lastUse = lastUseByRoot(model, steps, root);
    if (lastUse.get(root(s.inputs[0])) !== s.step || (readers.get(projection) ?? []).join() !== String(next.step)) continue;
    if (next.inputs.length !== 2 || !next.inputs.includes(projection)) continue;
    const skip = next.inputs[0] === projection ? next.inputs[1] : next.inputs[0];
    const [sum] = next.outputs;
    if (skip === projection || ![skip, sum].every(isInt8Arena) || boundary.has(skip)) continue;
    if (model.tensors[skip].shape.join() !== out.shape.join() || model.tensors[sum].shape.join() !== out.shape.join()) continue;
    if (lastUse.get(root(skip)) !== next.step) continue;
    const lead = Math.ceil(out.shape[3] / 4) * 4;
    s.overwrites = { tensor: s.inputs[0], shift: -lead };
    sharesBytesWith.set(projection, root(s.inputs[0]));
    byteShift.set(projection, shiftOf(s.inputs[0]) - lead);
    next.overwrites = { tensor: skip, shift: 0 };
    sharesBytesWith.set(sum, root(skip));
    byteShift.set(sum, shiftOf(skip));
  }
  // Aliases of a tensor that has since become a sharing output point one hop short.
  for (const [t, owner] of sharesBytesWith) {
    if (sharesBytesWith.has(owner)) {
      byteShift.set(t, shiftOf(t) + shiftOf(owner));
      sharesBytesWith.set(t, root(owner));
    }
  }
}

/** Last step reading any tensor of each byte-sharing group (model outputs count as read at the end). */
function lastUseByRoot(model: Model, steps: ScheduleStep[], root: (t: number) => number): Map<number, number> {
  const last = new Map<number, number>();
  for (const s of steps) for (const t of s.inputs) if (t >= 0) last.set(root(t), s.step);
  for (const t of model.outputs) last.set(root(t), Number.POSITIVE_INFINITY);
  return last;
}
