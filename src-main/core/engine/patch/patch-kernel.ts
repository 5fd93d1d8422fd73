import type { Model } from '../ir';
import type { PreparedOp } from '../runtime/prepare';
import type { Region } from './region';

/** Whether two regions cover the same rows and columns. */
export const sameRegion = (a: Region, b: Region): boolean => a.h0 === b.h0 && a.h1 === b.h1 && a.w0 === b.w0 && a.w1 === b.w1;

/**
 * Kernel parameters of a prepared op re-aimed at one patch: region sizes and shifted padding. Shared
 * by the TS patch executor and the C generator so both compute the same bytes.
 */
export function patchKernel(model: Model, prepared: PreparedOp, inRegion: Region, outRegion: Region): PreparedOp {
  const k = prepared.kernel;
  const inH = inRegion.h1 - inRegion.h0;
  const inW = inRegion.w1 - inRegion.w0;
  const outH = outRegion.h1 - outRegion.h0;
  const outW = outRegion.w1 - outRegion.w0;
  switch (k.kind) {
    case 'conv2d':
    case 'depthwise':
    case 'averagePool':
    case 'maxPool': {
      // Output row a of the layer reads input row a*stride - padTop; in the patch buffer that row sits
      // at (a*stride - padTop) - inRegion.h0. Interior borders lie inside the buffer (real neighbour
      // data, the halo); only at the image border does the kernel see padding.
      const padTop = k.params.padTop + inRegion.h0 - outRegion.h0 * k.params.strideH;
      const padLeft = k.params.padLeft + inRegion.w0 - outRegion.w0 * k.params.strideW;
      return { ...prepared, kernel: { ...k, params: { ...k.params, inH, inW, outH, outW, padTop, padLeft } } as typeof k };
    }
    case 'transpose': {
      const c = model.tensors[prepared.inputs[0]].shape[1];
      return { ...prepared, kernel: { ...k, params: { ...k.params, inShape: [1, c, outH, outW] } } };
    }
    default:
      return prepared;
  }
}
