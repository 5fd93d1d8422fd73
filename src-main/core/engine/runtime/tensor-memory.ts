import { type DType, type Tensor, elementCount } from '../ir';
import type { TensorView } from './prepare';

/** A typed array of a tensor's dtype over `bytes` bytes of `buffer` at `byteOffset`. */
export function viewOf(dtype: DType, buffer: ArrayBufferLike, byteOffset: number, length: number): TensorView {
  switch (dtype) {
    case 'int8': return new Int8Array(buffer, byteOffset, length);
    case 'uint8':
    case 'bool': return new Uint8Array(buffer, byteOffset, length);
    case 'int16': return new Int16Array(buffer, byteOffset, length);
    case 'int32': return new Int32Array(buffer, byteOffset, length);
    case 'float32': return new Float32Array(buffer, byteOffset, length);
    case 'int64': return new BigInt64Array(buffer, byteOffset, length);
  }
}

/** A fresh zeroed typed array holding a tensor. */
export function allocateView(t: Tensor): TensorView {
  const n = elementCount(t.shape);
  return viewOf(t.dtype, new ArrayBuffer(n * bytesPerElement(t.dtype)), 0, n);
}

/** A typed array over an aligned copy of a constant tensor's little-endian bytes. */
export function constantView(t: Tensor): TensorView {
  const v = allocateView(t);
  new Uint8Array(v.buffer, v.byteOffset, v.byteLength).set(t.data!);
  return v;
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'int8' || dtype === 'uint8' || dtype === 'bool' ? 1 : dtype === 'int16' ? 2 : dtype === 'int64' ? 8 : 4;
}
