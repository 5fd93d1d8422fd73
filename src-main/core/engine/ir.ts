/**
 * The engine's model IR: what the TFLite reader produces, what the runtime executes, what the
 * memory planner and the code generator consume. It is deliberately close to TFLite's own graph
 * (tensors + ops in execution order) so that tensor indices match TFLite's and results can be
 * compared with the oracle tensor by tensor.
 */

/** Element types the engine understands. */
export type DType = 'int8' | 'uint8' | 'int16' | 'int32' | 'int64' | 'float32' | 'bool';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Record<DType, number> = {
  int8: 1,
  uint8: 1,
  int16: 2,
  int32: 4,
  int64: 8,
  float32: 4,
  bool: 1,
};

/**
 * Affine quantization: real = scale * (q - zeroPoint). Per-tensor when `scale` has one entry,
 * per-channel along `axis` otherwise (TFLite's per-channel int8 weights are symmetric: zeroPoint 0).
 */
export interface Quantization {
  scale: number[];
  zeroPoint: number[];
  axis: number;
}

/** One tensor of the graph. Constant tensors (weights, biases, shapes) carry their bytes in `data`. */
export interface Tensor {
  /** Index in the TFLite subgraph (kept so results line up with the oracle's tensor indices). */
  id: number;
  name: string;
  dtype: DType;
  shape: number[];
  quant?: Quantization;
  /** Little-endian bytes of a constant tensor; absent for activations. */
  data?: Uint8Array;
  /** Stateful tensors (e.g. LSTM state) are variables in TFLite. */
  isVariable?: boolean;
}

/** Fused activation functions as TFLite encodes them. */
export type Activation = 'none' | 'relu' | 'relu_n1_to_1' | 'relu6' | 'tanh' | 'sign_bit';

/** TFLite's padding schemes; the runtime turns them into explicit per-side pads. */
export type Padding = 'same' | 'valid';

export interface Conv2DOptions {
  padding: Padding;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  activation: Activation;
}

export interface DepthwiseConv2DOptions extends Conv2DOptions {
  depthMultiplier: number;
}

export interface FullyConnectedOptions {
  activation: Activation;
  keepNumDims: boolean;
}

export interface Pool2DOptions {
  padding: Padding;
  strideH: number;
  strideW: number;
  filterH: number;
  filterW: number;
  activation: Activation;
}

export interface ActivationOnlyOptions {
  activation: Activation;
}

export interface ConcatenationOptions {
  axis: number;
  activation: Activation;
}

export interface SoftmaxOptions {
  beta: number;
}

export interface ReshapeOptions {
  /** From ReshapeOptions.new_shape when present; the shape input tensor wins when both exist. */
  newShape?: number[];
}

export interface SqueezeOptions {
  squeezeDims: number[];
}

export interface ReducerOptions {
  keepDims: boolean;
}

export interface ResizeNearestNeighborOptions {
  alignCorners: boolean;
  halfPixelCenters: boolean;
}

export interface SvdfOptions {
  /** Rank of the filter decomposition: num_filters = rank * num_units. */
  rank: number;
  /** Fused activation; TFLite's and TFLite Micro's integer SVDF kernels do not apply it. */
  activation: Activation;
}

export interface LeakyReluOptions {
  alpha: number;
}

export interface StridedSliceOptions {
  beginMask: number;
  endMask: number;
  /** Bit i removes dimension i from the output (a slice of length 1 there). */
  shrinkAxisMask: number;
}

export interface SplitOptions {
  numSplits: number;
}

/** PACK and UNPACK: the number of tensors and the axis they are stacked along. */
export interface PackOptions {
  count: number;
  axis: number;
}

export interface BatchMatMulOptions {
  /** Transpose the last two dimensions of the left / right operand. */
  adjX: boolean;
  adjY: boolean;
}

export interface GatherOptions {
  axis: number;
}

/** Ops without options of their own. */
export type NoOptions = Record<string, never>;

/** Every op the engine supports, with its options type. Names are TFLite's builtin operator names. */
export interface OpOptionsByKind {
  CONV_2D: Conv2DOptions;
  DEPTHWISE_CONV_2D: DepthwiseConv2DOptions;
  FULLY_CONNECTED: FullyConnectedOptions;
  ADD: ActivationOnlyOptions;
  MUL: ActivationOnlyOptions;
  AVERAGE_POOL_2D: Pool2DOptions;
  MAX_POOL_2D: Pool2DOptions;
  MEAN: ReducerOptions;
  PAD: NoOptions;
  RESHAPE: ReshapeOptions;
  SQUEEZE: SqueezeOptions;
  SOFTMAX: SoftmaxOptions;
  LOGISTIC: NoOptions;
  HARD_SWISH: NoOptions;
  RELU: NoOptions;
  RELU6: NoOptions;
  CONCATENATION: ConcatenationOptions;
  RESIZE_NEAREST_NEIGHBOR: ResizeNearestNeighborOptions;
  TRANSPOSE: NoOptions;
  QUANTIZE: NoOptions;
  DEQUANTIZE: NoOptions;
  SVDF: SvdfOptions;
  SUB: ActivationOnlyOptions;
  MAXIMUM: NoOptions;
  MINIMUM: NoOptions;
  SQUARED_DIFFERENCE: NoOptions;
  LEAKY_RELU: LeakyReluOptions;
  PRELU: NoOptions;
  STRIDED_SLICE: StridedSliceOptions;
  SPLIT: SplitOptions;
  SPLIT_V: SplitOptions;
  PACK: PackOptions;
  UNPACK: PackOptions;
  GATHER: GatherOptions;
  BATCH_MATMUL: BatchMatMulOptions;
  RSQRT: NoOptions;
  LOG_SOFTMAX: NoOptions;
}

export type OpKind = keyof OpOptionsByKind;

/** One node, in execution order. `inputs` uses -1 for an omitted optional input (TFLite's convention). */
export type Op = {
  [K in OpKind]: {
    /** Position in the subgraph's operator list (TFLite's node index). */
    index: number;
    kind: K;
    inputs: number[];
    outputs: number[];
    options: OpOptionsByKind[K];
  };
}[OpKind];

/** Narrow an op to one kind. */
export type OpOf<K extends OpKind> = Extract<Op, { kind: K }>;

/** A model: one subgraph (the engine runs single-subgraph models), ops in execution order. */
export interface Model {
  name: string;
  description?: string;
  /** Indexed by tensor id: tensors[i].id === i. */
  tensors: Tensor[];
  ops: Op[];
  inputs: number[];
  outputs: number[];
}

/** Number of elements of a shape. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Bytes a tensor occupies. */
export function tensorBytes(t: Pick<Tensor, 'dtype' | 'shape'>): number {
  return elementCount(t.shape) * DTYPE_BYTES[t.dtype];
}
