/**
 * Single-channel image operations used to render digits under a device's shift. Images are
 * row-major Float32Array planes with values in [0, 1].
 */

/** Parameters of an affine warp about the image centre. */
export interface AffineWarp {
  rotationRad: number;
  scale: number;
  /** Translation in output pixels. */
  shiftX: number;
  shiftY: number;
}

/**
 * Resamples `src` (srcSize x srcSize) to an outSize x outSize image through a rotation, scale and
 * shift about the centre (bilinear, zero outside).
 */
export function warpAffine(src: Float32Array | number[], srcSize: number, outSize: number, warp: AffineWarp): Float32Array {
  const out = new Float32Array(outSize * outSize);
  const ratio = srcSize / outSize;
  const cos = Math.cos(warp.rotationRad);
  const sin = Math.sin(warp.rotationRad);
  const cOut = (outSize - 1) / 2;
  const cSrc = (srcSize - 1) / 2;
  for (let oy = 0; oy < outSize; oy++) {
    for (let ox = 0; ox < outSize; ox++) {
      // Inverse map: output pixel -> source coordinates.
      const dx = (ox - cOut - warp.shiftX) / warp.scale;
      const dy = (oy - cOut - warp.shiftY) / warp.scale;
      const sx = (cos * dx + sin * dy) * ratio + cSrc;
      const sy = (-sin * dx + cos * dy) * ratio + cSrc;
      out[oy * outSize + ox] = bilinear(src, srcSize, sx, sy);
    }
  }
  return out;
}

function bilinear(src: Float32Array | number[], size: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (xx: number, yy: number) => (xx < 0 || yy < 0 || xx >= size || yy >= size ? 0 : src[yy * size + xx]);
  return (
    at(x0, y0) * (1 - fx) * (1 - fy) + at(x0 + 1, y0) * fx * (1 - fy) + at(x0, y0 + 1) * (1 - fx) * fy + at(x0 + 1, y0 + 1) * fx * fy
  );
}

/** Separable Gaussian blur with the given sigma (in pixels); sigma <= 0 returns a copy. */
export function gaussianBlur(img: Float32Array, size: number, sigma: number): Float32Array {
  if (sigma <= 0) return img.slice();
  const radius = Math.max(1, Math.ceil(2 * sigma));
  const kernel: number[] = [];
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    kernel.push(v);
    sum += v;
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] /= sum;
  const tmp = new Float32Array(img.length);
  const out = new Float32Array(img.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let acc = 0;
      for (let k = -radius; k <= radius; k++) {
        const xx = x + k;
        if (xx >= 0 && xx < size) acc += kernel[k + radius] * img[y * size + xx];
      }
      tmp[y * size + x] = acc;
    }
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let acc = 0;
      for (let k = -radius; k <= radius; k++) {
        const yy = y + k;
        if (yy >= 0 && yy < size) acc += kernel[k + radius] * tmp[yy * size + x];
      }
      out[y * size + x] = acc;
    }
  }
  return out;
}
