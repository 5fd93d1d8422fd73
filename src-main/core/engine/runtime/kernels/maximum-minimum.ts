import { type Broadcast4D, broadcastBinary } from './elementwise';

/**
 * TFLite's MAXIMUM / MINIMUM on int8 (maximum_minimum.cc): the larger / smaller raw value of the two
 * broadcast inputs, no rescaling (inputs and output share one quantization).
 */
export function maximum(a: Int8Array, b: Int8Array, output: Int8Array, g: Broadcast4D): void {
  broadcastBinary(a, b, output, g, (x, y) => (x > y ? x : y));
}

export function minimum(a: Int8Array, b: Int8Array, output: Int8Array, g: Broadcast4D): void {
  broadcastBinary(a, b, output, g, (x, y) => (x < y ? x : y));
}
