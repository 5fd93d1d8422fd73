import type { Param } from './network';

/** Optimizer settings. */
export type OptimizerConfig =
  | { kind: 'sgd'; lr: number; momentum?: number; weightDecay?: number }
  | { kind: 'adam'; lr: number; beta1?: number; beta2?: number; eps?: number; weightDecay?: number };

/** Applies one update to every parameter from its gradient. */
export interface Optimizer {
  step(params: Param[], lrScale?: number): void;
}

/** SGD with (heavy-ball) momentum and L2 weight decay. */
export class Sgd implements Optimizer {
  private readonly velocity = new Map<string, Float32Array>();
  constructor(private readonly config: Extract<OptimizerConfig, { kind: 'sgd' }>) {}

  step(params: Param[], lrScale = 1): void {
    const lr = this.config.lr * lrScale;
    const mom = this.config.momentum ?? 0.9;
    const wd = this.config.weightDecay ?? 0;
    for (const p of params) {
      let v = this.velocity.get(p.name);
      if (!v) this.velocity.set(p.name, (v = new Float32Array(p.value.length)));
      const decay = p.decay ? wd : 0;
      for (let k = 0; k < p.value.length; k++) {
        v[k] = mom * v[k] + p.grad[k] + decay * p.value[k];
        p.value[k] -= lr * v[k];
      }
    }
  }
}

/** Adam (Kingma & Ba) with bias correction and decoupled weight decay (AdamW). */
export class Adam implements Optimizer {
  private readonly m = new Map<string, Float32Array>();
  private readonly v = new Map<string, Float32Array>();
  private t = 0;
  constructor(private readonly config: Extract<OptimizerConfig, { kind: 'adam' }>) {}

  step(params: Param[], lrScale = 1): void {
    const lr = this.config.lr * lrScale;
    const b1 = this.config.beta1 ?? 0.9;
    const b2 = this.config.beta2 ?? 0.999;
    const eps = this.config.eps ?? 1e-8;
    const wd = this.config.weightDecay ?? 0;
    this.t++;
    const c1 = 1 - Math.pow(b1, this.t);
    const c2 = 1 - Math.pow(b2, this.t);
    for (const p of params) {
      let m = this.m.get(p.name);
      let v = this.v.get(p.name);
      if (!m) this.m.set(p.name, (m = new Float32Array(p.value.length)));
      if (!v) this.v.set(p.name, (v = new Float32Array(p.value.length)));
      const decay = p.decay ? wd : 0;
      for (let k = 0; k < p.value.length; k++) {
        const g = p.grad[k];
        m[k] = b1 * m[k] + (1 - b1) * g;
        v[k] = b2 * v[k] + (1 - b2) * g * g;
        p.value[k] -= lr * ((m[k] / c1) / (Math.sqrt(v[k] / c2) + eps) + decay * p.value[k]);
      }
    }
  }
}

/** Creates the optimizer a config names. */
export function createOptimizer(config: OptimizerConfig): Optimizer {
  if (!(config.lr > 0)) throw new Error(`learning rate must be > 0, got ${config.lr}`);
  return config.kind === 'sgd' ? new Sgd(config) : new Adam(config);
}
