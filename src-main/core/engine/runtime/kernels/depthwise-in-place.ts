import { multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierSingleRounding } from '../fixed-point';
import type { DepthwiseParams } from './depthwise';

/** Bytes of the plane scratch depthwiseConv2dInPlace needs: one input channel with its padding on all sides. */
export function depthwisePlaneBytes(p: Pick<DepthwiseParams, 'inH' | 'inW' | 'outH' | 'outW' | 'kH' | 'kW' | 'strideH' | 'strideW' | 'dilationH' | 'dilationW' | 'padTop' | 'padLeft'>): number {
  const { planeH, planeW } = planeSize(p);
  return planeH * planeW;
}

function planeSize(p: Pick<DepthwiseParams, 'inH' | 'inW' | 'outH' | 'outW' | 'kH' | 'kW' | 'strideH' | 'strideW' | 'dilationH' | 'dilationW' | 'padTop' | 'padLeft'>) {
  const needH = (p.outH - 1) * p.strideH + (p.kH - 1) * p.dilationH + 1;
  const needW = (p.outW - 1) * p.strideW + (p.kW - 1) * p.dilationW + 1;
  return { planeH: Math.max(needH, p.padTop + p.inH), planeW: Math.max(needW, p.padLeft + p.inW) };
}

/**
 * Depthwise convolution that writes its output over its input (depth multiplier 1, C_in == C_out)
 * in one NHWC buffer, channel by channel: channel c's input plane is first copied, padded with the
 * input zero point, into `plane`, then channel c's outputs are written. Output (oy, ox, c) lands on
 * a byte that only ever holds channel c, and channel c's input is already saved, so this is safe for
 * any stride. `plane` must hold depthwisePlaneBytes(p) bytes. Bit-identical to depthwiseConv2d.
 */
export function depthwiseConv2dInPlace(buffer: Int8Array, plane: Int8Array, p: DepthwiseParams): void {
  if (p.depthMultiplier !== 1) throw new Error('in-place depthwise needs depth multiplier 1');
  const { inH, inW, inC: C, outH, outW, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, inputOffset, filter, bias } = p;
  const { multiplier, shift, singleRounding, outputOffset, actMin, actMax } = p;
  const { planeH, planeW } = planeSize(p);
  if (plane.length < planeH * planeW) throw new Error(`depthwise plane scratch of ${plane.length} bytes, needs ${planeH * planeW}`);
  const zeroPoint = -inputOffset;
  for (let b = 0; b < p.batches; b++) {
    const inBatch = b * inH * inW * C;
    const outBatch = b * outH * outW * C;
    for (let c = 0; c < C; c++) {
      plane.fill(zeroPoint, 0, planeH * planeW);
      for (let y = 0; y < inH; y++) {
        let dst = (y + padTop) * planeW + padLeft;
        let src = inBatch + y * inW * C + c;
        for (let x = 0; x < inW; x++, src += C) plane[dst++] = buffer[src];
      }
      const bc = bias !== null ? bias[c] : 0;
      const mc = multiplier[c], sc = shift[c];
      for (let oy = 0; oy < outH; oy++) {
        const py0 = oy * strideH;
        for (let ox = 0; ox < outW; ox++) {
          const px0 = ox * strideW;
          let acc = bc;
          for (let ky = 0; ky < kH; ky++) {
            const row = (py0 + ky * dilationH) * planeW + px0;
            let f = ky * kW * C + c;
            for (let kx = 0; kx < kW; kx++, f += C) acc += (plane[row + kx * dilationW] + inputOffset) * filter[f];
          }
          let x = singleRounding ? multiplyByQuantizedMultiplierSingleRounding(acc | 0, mc, sc) : multiplyByQuantizedMultiplier(acc | 0, mc, sc);
          x += outputOffset;
          buffer[outBatch + (oy * outW + ox) * C + c] = x < actMin ? actMin : x > actMax ? actMax : x;
        }
      }
    }
  }
}
