import { Rng } from './rng';
import type { Sample, Task, TaskInfo } from './task';

/** How one device's IMU (mounting, calibration, clock) distorts the signal. */
export interface ImuShift {
  /** Row-major 3x3 rotation from the body frame to the sensor frame (mounting orientation). */
  rotation: number[];
  gain: [number, number, number];
  bias: [number, number, number];
  noiseStd: number;
  /** The device's real sample rate over the nominal one (clock error / sample-rate jitter). */
  rateFactor: number;
}

const IDENTITY3 = [1, 0, 0, 0, 1, 0, 0, 0, 1];

/** The identity shift. */
export const NO_IMU_SHIFT: ImuShift = Object.freeze({
  rotation: IDENTITY3,
  gain: [1, 1, 1] as [number, number, number],
  bias: [0, 0, 0] as [number, number, number],
  noiseStd: 0,
  rateFactor: 1,
});

export const IMU_CLASSES = ['walking', 'running', 'upstairs', 'downstairs', 'sitting', 'standing', 'lying'] as const;

/** Body-frame posture (unit gravity direction) of each activity: x up the torso, z out of the chest. */
const POSTURE: Record<(typeof IMU_CLASSES)[number], [number, number, number]> = {
  walking: [1, 0, 0.05],
  running: [0.97, 0, 0.25],
  upstairs: [0.96, 0, 0.28],
  downstairs: [0.98, 0, -0.2],
  sitting: [0.75, 0, 0.66],
  standing: [1, 0, 0],
  lying: [0.1, 0.05, 0.99],
};

/** Options of the IMU task. */
export interface ImuOptions {
  /** Samples per window. */
  windowLength?: number;
  /** Nominal sample rate in Hz. */
  sampleRateHz?: number;
}

/**
 * Synthetic 3-axis accelerometer activity recognition, in g. Each window is gravity along the
 * activity's posture plus, for the dynamic activities, a periodic gait (step frequency, harmonics
 * with per-axis phase and asymmetry that differ between walking, running and stairs up/down), slow
 * orientation sway, tremor and sensor noise. Input layout [T, 1, 3].
 */
export function imuTask(options: ImuOptions = {}): Task<ImuShift> {
  const T = options.windowLength ?? 64;
  const fs = options.sampleRateHz ?? 32;
  if (!Number.isInteger(T) || T < 16 || T > 1024) throw new Error(`imu windowLength must be an integer in [16, 1024], got ${T}`);
  if (!(fs > 0)) throw new Error(`imu sampleRateHz must be > 0, got ${fs}`);
  const info: TaskInfo = { id: 'imu', inputShape: [T, 1, 3], numClasses: IMU_CLASSES.length, classNames: [...IMU_CLASSES] };
  const generate = (rng: Rng, label: number, shift: ImuShift): Sample => {
    const activity = IMU_CLASSES[label];
    const g = POSTURE[activity].map((v) => v + 0.05 * rng.normal());
    const gNorm = Math.hypot(g[0], g[1], g[2]);
    const gravity = g.map((v) => v / gNorm);
    const gait = gaitOf(activity, rng);
    const phase0 = rng.uniform(0, 2 * Math.PI);
    const swayF = rng.uniform(0.1, 0.4);
    const swayA = activity === 'lying' || activity === 'sitting' ? 0.02 : 0.05;
    const x = new Float32Array(T * 3);
    const dt = 1 / (fs * shift.rateFactor);
    const body = [0, 0, 0];
    for (let i = 0; i < T; i++) {
      const t = i * dt;
      const sway = swayA * Math.sin(2 * Math.PI * swayF * t + phase0);
      body[0] = gravity[0] - sway * gravity[2];
      body[1] = gravity[1] + sway;
      body[2] = gravity[2] + sway * gravity[0];
      if (gait) {
        const w = 2 * Math.PI * gait.freq * t + phase0;
        for (let a = 0; a < 3; a++) {
          let v = 0;
          for (let h = 0; h < gait.amp[a].length; h++) v += gait.amp[a][h] * Math.sin((h + 1) * w + gait.phase[a][h]);
          body[a] += v;
        }
        // Heel strike: a sharp, skewed peak on the vertical axis once per step.
        const cyc = (w / (2 * Math.PI)) % 1;
        body[0] += gait.impact * Math.exp(-((cyc - 0.1) ** 2) / 0.002);
      }
      const tremor = 0.01;
      for (let a = 0; a < 3; a++) {
        const r = shift.rotation;
        const s = r[a * 3] * body[0] + r[a * 3 + 1] * body[1] + r[a * 3 + 2] * body[2];
        x[i * 3 + a] = shift.gain[a] * s + shift.bias[a] + (tremor + shift.noiseStd) * rng.normal();
      }
    }
    return { x, y: label };
  };
  const split = (rng: Rng, count: number): Sample[] =>
    Array.from({ length: count }, (_, i) => generate(rng, i % IMU_CLASSES.length, mildVariation(rng)));
  return {
    info,
    baseSplit(seed, sizes = {}) {
      const rng = new Rng(seed);
      return { train: rng.shuffle(split(rng.fork(1), sizes.train ?? 4200)), test: rng.shuffle(split(rng.fork(2), sizes.test ?? 1400)) };
    },
    randomShift(rng, severity) {
      const s = severity;
      return {
        rotation: rotationMatrix(randomAxis(rng), s * rng.uniform(-Math.PI / 3, Math.PI / 3)),
        gain: [0, 1, 2].map(() => 1 + s * rng.uniform(-0.25, 0.25)) as [number, number, number],
        bias: [0, 1, 2].map(() => s * rng.uniform(-0.2, 0.2)) as [number, number, number],
        noiseStd: s * rng.uniform(0.01, 0.08),
        rateFactor: 1 + s * rng.uniform(-0.15, 0.15),
      };
    },
    deviceSample(rng, label, shift) {
      // Signals are generated afresh, so a device's train and eval windows never coincide.
      return generate(rng, label, shift);
    },
  };
}

interface Gait {
  freq: number;
  amp: number[][];
  phase: number[][];
  impact: number;
}

function gaitOf(activity: (typeof IMU_CLASSES)[number], rng: Rng): Gait | null {
  const jitter = () => 1 + 0.15 * rng.normal();
  const ph = (base: number) => base + 0.3 * rng.normal();
  switch (activity) {
    case 'walking':
      return {
        freq: rng.uniform(1.6, 2.1),
        amp: [[0.25 * jitter(), 0.1 * jitter()], [0.12 * jitter(), 0.03], [0.15 * jitter(), 0.05]],
        phase: [[ph(0), ph(1)], [ph(1.5), ph(0)], [ph(0.5), ph(2)]],
        impact: 0.25 * jitter(),
      };
    case 'running':
      return {
        freq: rng.uniform(2.5, 3.2),
        amp: [[0.9 * jitter(), 0.35 * jitter()], [0.3 * jitter(), 0.1], [0.4 * jitter(), 0.15]],
        phase: [[ph(0), ph(0.5)], [ph(1.5), ph(0)], [ph(0.5), ph(1)]],
        impact: 0.9 * jitter(),
      };
    case 'upstairs':
      return {
        freq: rng.uniform(1.3, 1.7),
        amp: [[0.2 * jitter(), 0.18 * jitter(), 0.08], [0.08 * jitter(), 0.04], [0.25 * jitter(), 0.12 * jitter()]],
        phase: [[ph(0), ph(2.2), ph(1)], [ph(1.5), ph(0)], [ph(-0.8), ph(1.2)]],
        impact: 0.1 * jitter(),
      };
    case 'downstairs':
      return {
        freq: rng.uniform(1.7, 2.2),
        amp: [[0.35 * jitter(), 0.05, 0.12 * jitter()], [0.1 * jitter(), 0.04], [0.12 * jitter(), 0.06]],
        phase: [[ph(0), ph(0.3), ph(2.5)], [ph(1.5), ph(0)], [ph(0.9), ph(-1)]],
        impact: 0.6 * jitter(),
      };
    default:
      return null;
  }
}

/** Person-to-person variation in the global data (mounting wobble, small gain errors). */
function mildVariation(rng: Rng): ImuShift {
  return {
    rotation: rotationMatrix(randomAxis(rng), rng.uniform(-0.15, 0.15)),
    gain: [0, 1, 2].map(() => 1 + rng.uniform(-0.05, 0.05)) as [number, number, number],
    bias: [0, 1, 2].map(() => rng.uniform(-0.03, 0.03)) as [number, number, number],
    noiseStd: rng.uniform(0, 0.02),
    rateFactor: 1 + rng.uniform(-0.03, 0.03),
  };
}

function randomAxis(rng: Rng): [number, number, number] {
  const v = [rng.normal(), rng.normal(), rng.normal()];
  const n = Math.hypot(v[0], v[1], v[2]) || 1;
  return [v[0] / n, v[1] / n, v[2] / n];
}

/** Rodrigues' rotation about a unit axis. */
export function rotationMatrix(axis: [number, number, number], angle: number): number[] {
  const [x, y, z] = axis;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const t = 1 - c;
  return [t * x * x + c, t * x * y - s * z, t * x * z + s * y, t * x * y + s * z, t * y * y + c, t * y * z - s * x, t * x * z - s * y, t * y * z + s * x, t * z * z + c];
}
