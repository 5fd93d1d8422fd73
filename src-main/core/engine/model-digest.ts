import { createHash } from 'node:crypto';
import type { DType, Model } from './ir';

const DTYPE_CODE: Record<DType, number> = { int8: 1, uint8: 2, int16: 3, int32: 4, int64: 5, float32: 6, bool: 7 };

/**
 * The identity of a model's parameters: SHA-256 over every constant tensor in ascending tensor id
 * (u32 id, u32 dtype code, u32 rank and u32 dims, u32 count and float32 scales, int32 zero points,
 * i32 quantized axis, u32 byte length and the bytes; all little-endian; a tensor without
 * quantization writes count 0 and axis -1).
 *
 * Federated rounds name models by it: a package built for any MCU class, a TFLite file and a model
 * a device patched in place with a sparse delta share it as long as their weights, biases and
 * scales are equal, so a device can check the result of an applied delta without holding a file.
 * Activations and the graph's ops are not part of it: a delta never changes them.
 */
export function modelDigest(model: Model): string {
  const hash = createHash('sha256');
  const constants = model.tensors.filter((t) => t.data !== undefined).sort((a, b) => a.id - b.id);
  for (const tensor of constants) {
    const data = tensor.data!;
    const scales = tensor.quant?.scale ?? [];
    const zeroPoints = tensor.quant?.zeroPoint ?? [];
    const words = [tensor.id, DTYPE_CODE[tensor.dtype], tensor.shape.length, ...tensor.shape, scales.length];
    const header = Buffer.alloc(4 * words.length + 8 * scales.length + 8);
    let at = 0;
    for (const word of words) at = header.writeUInt32LE(word, at);
    for (const scale of scales) at = header.writeFloatLE(scale, at);
    for (let i = 0; i < scales.length; i++) at = header.writeInt32LE(zeroPoints[i] ?? 0, at);
    at = header.writeInt32LE(tensor.quant ? tensor.quant.axis : -1, at);
    header.writeUInt32LE(data.byteLength, at);
    hash.update(header);
    hash.update(data);
  }
  return hash.digest('hex');
}
