import { multiplyByQuantizedMultiplier, multiplyByQuantizedMultiplierSingleRounding } from '../fixed-point';
import type { DepthwiseParams } from './depthwise';

/** The geometry an in-place depthwise's scratch depends on. */
export type DepthwiseGeometry = Pick<DepthwiseParams, 'inH' | 'inW' | 'outH' | 'outW' | 'kH' | 'kW' | 'strideH' | 'strideW' | 'dilationH' | 'dilationW' | 'padTop' | 'padLeft'>;

/**
 * How depthwiseConv2dInPlace keeps one channel's input while that channel's outputs overwrite it.
 * The padded plane of a channel is planeH x planeW bytes (input row y at plane row y + padTop,
 * column x at x + padLeft, everything else the input zero point). With ringRows 0 the whole plane
 * is copied before the channel's first output; otherwise only a ring of ringRows plane rows (one
 * window's height) is kept, plane row py in ring row py % ringRows, each copied just before the
 * first output row that reads it.
 */
export interface InPlaceScratch {
  planeH: number;
  planeW: number;
  ringRows: number;
}

/**
 * The scratch method of an in-place depthwise: the ring where it is smaller than the plane and no
 * output is written over an input row before the ring has copied it, else the whole plane.
 * The TS kernel and the C runtime's tf_dwconv_inplace_s8 both follow this choice.
 */
export function depthwiseInPlaceScratch(g: DepthwiseGeometry): InPlaceScratch {
  const span = (g.kH - 1) * g.dilationH + 1;
  const needH = (g.outH - 1) * g.strideH + span;
  const needW = (g.outW - 1) * g.strideW + (g.kW - 1) * g.dilationW + 1;
  const planeH = Math.max(needH, g.padTop + g.inH);
  const planeW = Math.max(needW, g.padLeft + g.inW);
  return { planeH, planeW, ringRows: span < planeH && ringIsSafe(g, span) ? span : 0 };
}

/**
 * Whether a ring of `rows` plane rows never loses input: follows the kernel's copy order and checks,
 * before each output row's copies, that the first input row copied still holds its input. Channel
 * c's outputs only land on channel-c bytes, so pixel indices decide: output rows 0..oy-1 have
 * written pixels below oy * outW, and input row y starts at pixel y * inW. (Across batches the
 * outputs of earlier images stay below the current image's input as long as the output is no larger
 * than the input, which in-place steps require.)
 */
function ringIsSafe(g: DepthwiseGeometry, rows: number): boolean {
  let next = 0;
  for (let oy = 0; oy < g.outH; oy++) {
    const top = oy * g.strideH;
    const first = Math.max(next, top);
    next = top + rows;
    const y = Math.max(first - g.padTop, 0);
    // Only padding rows are copied, or none.
    if (y >= g.inH || y + g.padTop >= next) continue;
    if (oy * g.outW > y * g.inW) return false;
  }
  return true;
}

/** Bytes of scratch depthwiseConv2dInPlace needs: the ring's rows or the whole plane (depthwiseInPlaceScratch). */
export function depthwisePlaneBytes(g: DepthwiseGeometry): number {
  const { planeH, planeW, ringRows } = depthwiseInPlaceScratch(g);
  return (ringRows > 0 ? ringRows : planeH) * planeW;
}

/**
 * Depthwise convolution that writes its output over its input (depth multiplier 1, C_in == C_out)
 * in one NHWC buffer, channel by channel: channel c's padded input rows are copied into `plane`
 * (the whole plane, or a ring of rows just before the output rows that read them, as
 * depthwiseInPlaceScratch chooses), and channel c's outputs are computed from the copies only.
 * Output (oy, ox, c) lands on a byte that only ever holds channel c. `plane` must hold
 * depthwisePlaneBytes(p) bytes. Bit-identical to depthwiseConv2d.
 */
export function depthwiseConv2dInPlace(buffer: Int8Array, plane: Int8Array, p: DepthwiseParams): void {
  if (p.depthMultiplier !== 1) throw new Error('in-place depthwise needs depth multiplier 1');
  const { inH, inW, inC: C, outH, outW, kH, kW, strideH, strideW, dilationH, dilationW, padTop, padLeft, inputOffset, filter, bias } = p;
  const { multiplier, shift, singleRounding, outputOffset, actMin, actMax } = p;
  const { planeH, planeW, ringRows } = depthwiseInPlaceScratch(p);
  const rows = ringRows > 0 ? ringRows : planeH;
  if (plane.length < rows * planeW) throw new Error(`depthwise plane scratch of ${plane.length} bytes, needs ${rows * planeW}`);
  const span = (kH - 1) * dilationH + 1;
  const zeroPoint = -inputOffset;
  // The padding columns are never copied over, so they keep the zero point for every channel.
  plane.fill(zeroPoint, 0, rows * planeW);
  for (let b = 0; b < p.batches; b++) {
    const inBatch = b * inH * inW * C;
    const outBatch = b * outH * outW * C;
    for (let c = 0; c < C; c++) {
      const bc = bias !== null ? bias[c] : 0;
      const mc = multiplier[c], sc = shift[c];
      let next = 0;
      for (let oy = 0; oy < outH; oy++) {
        const top = oy * strideH;
        // Rows between windows (stride above the window's height) are never read, so never copied.
        const end = ringRows > 0 ? top + span : planeH;
        for (let py = Math.max(next, top); py < end; py++) {
          const dst = (py % rows) * planeW + padLeft;
          const y = py - padTop;
          if (y < 0 || y >= inH) {
            plane.fill(zeroPoint, dst, dst + inW);
            continue;
          }
          for (let x = 0, src = inBatch + y * inW * C + c; x < inW; x++, src += C) plane[dst + x] = buffer[src];
        }
        next = Math.max(next, end);
        const slot0 = top % rows;
        for (let ox = 0; ox < outW; ox++) {
          const px0 = ox * strideW;
          let acc = bc;
          // The window's rows are consecutive in the ring modulo its size; dilationH < rows whenever kH > 1.
          for (let ky = 0, slot = slot0; ky < kH; ky++, slot = slot + dilationH >= rows ? slot + dilationH - rows : slot + dilationH) {
            const row = slot * planeW + px0;
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
