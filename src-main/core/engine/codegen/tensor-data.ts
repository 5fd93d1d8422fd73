import { elementCount, type Model, type Tensor } from '../ir';

/**
 * Typed readers of constant tensors for the generator (the IR keeps constants as little-endian
 * bytes). Each names the tensor in its error, since a model that reaches here passed the reader's
 * validation and a failure means an op has an input of an unexpected kind.
 */

function constData(t: Tensor): Uint8Array {
  if (!t.data) throw new Error(`tensor ${t.id} (${t.name}) is not constant`);
  return t.data;
}

export function int8Values(t: Tensor): Int8Array {
  const d = constData(t);
  if (t.dtype !== 'int8') throw new Error(`tensor ${t.id} (${t.name}) is ${t.dtype}, expected int8`);
  return new Int8Array(d.buffer, d.byteOffset, d.byteLength);
}

export function int32Values(t: Tensor): Int32Array {
  const d = constData(t);
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const n = elementCount(t.shape);
  const out = new Int32Array(n);
  if (t.dtype === 'int32') for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
  else if (t.dtype === 'int64') for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(i * 8, true));
  else throw new Error(`tensor ${t.id} (${t.name}) is ${t.dtype}, expected int32 or int64`);
  return out;
}

/** The integer values of a small constant tensor (axes, permutations, shapes). */
export function constInts(model: Model, id: number): number[] {
  return Array.from(int32Values(model.tensors[id]));
}

/** Zero point and scale of a per-tensor quantized tensor; defaults for float tensors. */
export function qparams(t: Tensor): { scale: number; zeroPoint: number } {
  return { scale: t.quant?.scale[0] ?? 1, zeroPoint: t.quant?.zeroPoint[0] ?? 0 };
}
