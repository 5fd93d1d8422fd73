import type { Activation, DType, OpKind, Padding } from '../ir';

/**
 * The parts of TFLite's schema.fbs the reader needs: builtin operator names by code (all of them,
 * so that unsupported ops are named), tensor types, enums, and the vtable slots of each table.
 */
export const BUILTIN_OPERATOR_NAMES: readonly string[] = [
  'ADD', 'AVERAGE_POOL_2D', 'CONCATENATION', 'CONV_2D', 'DEPTHWISE_CONV_2D', 'DEPTH_TO_SPACE', 'DEQUANTIZE',
  'EMBEDDING_LOOKUP', 'FLOOR', 'FULLY_CONNECTED', 'HASHTABLE_LOOKUP', 'L2_NORMALIZATION', 'L2_POOL_2D',
  'LOCAL_RESPONSE_NORMALIZATION', 'LOGISTIC', 'LSH_PROJECTION', 'LSTM', 'MAX_POOL_2D', 'MUL', 'RELU',
  'RELU_N1_TO_1', 'RELU6', 'RESHAPE', 'RESIZE_BILINEAR', 'RNN', 'SOFTMAX', 'SPACE_TO_DEPTH', 'SVDF', 'TANH',
  'CONCAT_EMBEDDINGS', 'SKIP_GRAM', 'CALL', 'CUSTOM', 'EMBEDDING_LOOKUP_SPARSE', 'PAD',
  'UNIDIRECTIONAL_SEQUENCE_RNN', 'GATHER', 'BATCH_TO_SPACE_ND', 'SPACE_TO_BATCH_ND', 'TRANSPOSE', 'MEAN', 'SUB',
  'DIV', 'SQUEEZE', 'UNIDIRECTIONAL_SEQUENCE_LSTM', 'STRIDED_SLICE', 'BIDIRECTIONAL_SEQUENCE_RNN', 'EXP', 'TOPK_V2',
  'SPLIT', 'LOG_SOFTMAX', 'DELEGATE', 'BIDIRECTIONAL_SEQUENCE_LSTM', 'CAST', 'PRELU', 'MAXIMUM', 'ARG_MAX',
  'MINIMUM', 'LESS', 'NEG', 'PADV2', 'GREATER', 'GREATER_EQUAL', 'LESS_EQUAL', 'SELECT', 'SLICE', 'SIN',
  'TRANSPOSE_CONV', 'SPARSE_TO_DENSE', 'TILE', 'EXPAND_DIMS', 'EQUAL', 'NOT_EQUAL', 'LOG', 'SUM', 'SQRT', 'RSQRT',
  'SHAPE', 'POW', 'ARG_MIN', 'FAKE_QUANT', 'REDUCE_PROD', 'REDUCE_MAX', 'PACK', 'LOGICAL_OR', 'ONE_HOT',
  'LOGICAL_AND', 'LOGICAL_NOT', 'UNPACK', 'REDUCE_MIN', 'FLOOR_DIV', 'REDUCE_ANY', 'SQUARE', 'ZEROS_LIKE', 'FILL',
  'FLOOR_MOD', 'RANGE', 'RESIZE_NEAREST_NEIGHBOR', 'LEAKY_RELU', 'SQUARED_DIFFERENCE', 'MIRROR_PAD', 'ABS',
  'SPLIT_V', 'UNIQUE', 'CEIL', 'REVERSE_V2', 'ADD_N', 'GATHER_ND', 'COS', 'WHERE', 'RANK', 'ELU',
  'REVERSE_SEQUENCE', 'MATRIX_DIAG', 'QUANTIZE', 'MATRIX_SET_DIAG', 'ROUND', 'HARD_SWISH', 'IF', 'WHILE',
  'NON_MAX_SUPPRESSION_V4', 'NON_MAX_SUPPRESSION_V5', 'SCATTER_ND', 'SELECT_V2', 'DENSIFY', 'SEGMENT_SUM',
  'BATCH_MATMUL', 'PLACEHOLDER_FOR_GREATER_OP_CODES', 'CUMSUM', 'CALL_ONCE', 'BROADCAST_TO', 'RFFT2D', 'CONV_3D',
  'IMAG', 'REAL', 'COMPLEX_ABS', 'HASHTABLE', 'HASHTABLE_FIND', 'HASHTABLE_IMPORT', 'HASHTABLE_SIZE', 'REDUCE_ALL',
  'CONV_3D_TRANSPOSE', 'VAR_HANDLE', 'READ_VARIABLE', 'ASSIGN_VARIABLE', 'BROADCAST_ARGS',
  'RANDOM_STANDARD_NORMAL', 'BUCKETIZE', 'RANDOM_UNIFORM', 'MULTINOMIAL', 'GELU', 'DYNAMIC_UPDATE_SLICE',
  'RELU_0_TO_1', 'UNSORTED_SEGMENT_PROD', 'UNSORTED_SEGMENT_MAX', 'UNSORTED_SEGMENT_SUM', 'ATAN2',
  'UNSORTED_SEGMENT_MIN', 'SIGN', 'BITCAST', 'BITWISE_XOR', 'RIGHT_SHIFT',
];

export const CUSTOM_OPERATOR_CODE = 32;

/** Name of a builtin operator code (codes newer than this table are named by number). */
export function builtinOperatorName(code: number): string {
  return BUILTIN_OPERATOR_NAMES[code] ?? `BUILTIN_${code}`;
}

/** The ops of the IR, by TFLite builtin name. */
export const SUPPORTED_OPS: ReadonlySet<string> = new Set<OpKind>([
  'CONV_2D', 'DEPTHWISE_CONV_2D', 'FULLY_CONNECTED', 'ADD', 'MUL', 'AVERAGE_POOL_2D', 'MAX_POOL_2D', 'MEAN', 'PAD',
  'RESHAPE', 'SQUEEZE', 'SOFTMAX', 'LOGISTIC', 'HARD_SWISH', 'RELU', 'RELU6', 'CONCATENATION',
  'RESIZE_NEAREST_NEIGHBOR', 'TRANSPOSE', 'QUANTIZE', 'DEQUANTIZE', 'SVDF', 'SUB', 'MAXIMUM', 'MINIMUM',
  'SQUARED_DIFFERENCE', 'LEAKY_RELU', 'PRELU', 'STRIDED_SLICE', 'SPLIT', 'SPLIT_V', 'PACK', 'UNPACK', 'GATHER',
  'BATCH_MATMUL', 'RSQRT', 'LOG_SOFTMAX',
]);

/** TensorType enum → IR dtype (null: a type the engine cannot hold). */
export function tensorType(code: number): DType | null {
  switch (code) {
    case 0: return 'float32';
    case 2: return 'int32';
    case 3: return 'uint8';
    case 4: return 'int64';
    case 6: return 'bool';
    case 7: return 'int16';
    case 9: return 'int8';
    default: return null;
  }
}

export const TENSOR_TYPE_NAMES: readonly string[] = [
  'FLOAT32', 'FLOAT16', 'INT32', 'UINT8', 'INT64', 'STRING', 'BOOL', 'INT16', 'COMPLEX64', 'INT8', 'FLOAT64',
  'COMPLEX128', 'UINT64', 'RESOURCE', 'VARIANT', 'UINT32', 'UINT16', 'INT4',
];

const ACTIVATIONS: readonly Activation[] = ['none', 'relu', 'relu_n1_to_1', 'relu6', 'tanh', 'sign_bit'];

/** ActivationFunctionType enum → IR activation (null when out of range). */
export function activation(code: number): Activation | null {
  return ACTIVATIONS[code] ?? null;
}

/** Padding enum → IR padding (null when out of range). */
export function padding(code: number): Padding | null {
  return code === 0 ? 'same' : code === 1 ? 'valid' : null;
}

/** vtable slots (field ids; a union takes two: its type, then its value). */
export const F = {
  model: { version: 0, operatorCodes: 1, subgraphs: 2, description: 3, buffers: 4 },
  operatorCode: { deprecatedBuiltinCode: 0, customCode: 1, version: 2, builtinCode: 3 },
  subgraph: { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4 },
  tensor: { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, isVariable: 5, sparsity: 6 },
  quantization: { min: 0, max: 1, scale: 2, zeroPoint: 3, detailsType: 4, details: 5, quantizedDimension: 6 },
  buffer: { data: 0, offset: 1, size: 2 },
  operator: { opcodeIndex: 0, inputs: 1, outputs: 2, builtinOptionsType: 3, builtinOptions: 4 },
} as const;
