import type { Model } from '../../engine/ir';
import { Rng } from '../data/rng';
import type { Sample } from '../data/task';
import { argmaxRow } from '../float/kernels';
import type { LayerGradients } from './backward';
import { backward, gradientBuffers } from './backward';
import type { TrainGraph } from './graph';
import { analyseGraph } from './graph';
import { keepForBackward } from './int8-trace';
import type { BackwardPlan } from './plan';
import { planBackward } from './plan';
import { realWeights } from './real-params';
import type { SparseScheme } from './scheme';
import type { UpdateRule, UpdateStats } from './update';
import { applyUpdate } from './update';
import { quantizeInput } from '../quant/evaluate-int8';
import { cloneModel } from '../quant/model-io';

/** Runs the int8 graph on one quantized input and exposes every activation tensor's int8 values. */
export interface Int8GraphRunner {
  run(input: Int8Array): (tensor: number) => ArrayLike<number>;
  /** Called after the int8 weights / int32 biases of these ops changed in the model's tensors. */
  parametersChanged(opIndices: number[]): void;
}

/** Creates a runner for a model (the engine's interpreter in production). */
export type RunnerFactory = (model: Model) => Int8GraphRunner;

/** Options of on-device sparse training. */
export interface SparseTrainOptions extends Partial<UpdateRule> {
  scheme: SparseScheme;
  /** Samples per update (batch size 1 with gradient accumulation); default 1. */
  accumulate?: number;
  seed?: number;
  /**
   * Round (or session) index, a non-negative integer; default 0. With the seed it picks the
   * shuffling and stochastic-rounding streams, so every round orders and rounds differently.
   */
  round?: number;
}

/** Fork label of a round's streams, clear of the small labels used for the streams themselves. */
const ROUND_LABEL = 0x1000;

/** Progress of a local training run. */
export interface SparseProgress {
  epoch: number;
  epochs: number;
  sample: number;
  samples: number;
  loss: number;
}

/**
 * What a device runs to train: int8 forward on the engine runtime, backward only through the ops
 * the scheme needs, updates written into its own copy of the model's int8 weights and int32
 * biases. Deterministic for (model, scheme, data order, seed).
 */
export class SparseTrainer {
  readonly model: Model;
  readonly graph: TrainGraph;
  readonly plan: BackwardPlan;
  private readonly rule: UpdateRule;
  private readonly accumulate: number;
  /** Shuffles the epoch order; separate from rounding so a change in one leaves the other alone. */
  private readonly shuffleRng: Rng;
  /** Noise of stochastic weight rounding. */
  private readonly roundingRng: Rng;
  private readonly runner: Int8GraphRunner;
  private readonly grads: Map<number, LayerGradients>;
  private readonly weights = new Map<number, Float32Array>();
  private pending = 0;
  private appliedUpdates = 0;
  readonly stats: UpdateStats = { weightsChanged: 0, biasesChanged: 0, weightsSaturated: 0 };

  constructor(model: Model, options: SparseTrainOptions, createRunner: RunnerFactory) {
    this.model = cloneModel(model);
    this.graph = analyseGraph(this.model);
    this.plan = planBackward(this.graph, options.scheme);
    this.rule = { lr: options.lr ?? 0.05, qas: options.qas ?? true, weightRounding: options.weightRounding ?? 'stochastic' };
    if (!(this.rule.lr > 0)) throw new Error(`learning rate must be > 0, got ${this.rule.lr}`);
    this.accumulate = options.accumulate ?? 1;
    if (!Number.isInteger(this.accumulate) || this.accumulate < 1) throw new Error(`accumulate must be a positive integer, got ${this.accumulate}`);
    const round = options.round ?? 0;
    if (!Number.isInteger(round) || round < 0) throw new Error(`round must be a non-negative integer, got ${round}`);
    const streams = new Rng(options.seed ?? 1).fork(ROUND_LABEL + round);
    this.shuffleRng = streams.fork(1);
    this.roundingRng = streams.fork(2);
    this.runner = createRunner(this.model);
    this.grads = gradientBuffers(this.graph, this.plan);
    this.refreshWeights(this.graph.layers.map((l) => l.opIndex));
  }

  /** One training sample: forward, backward, and an update every `accumulate` samples. */
  step(sample: Sample): { loss: number; correct: boolean } {
    const values = this.runner.run(quantizeInput(this.model, sample.x));
    const trace = keepForBackward(this.graph, this.plan, values);
    const loss = backward(this.graph, this.plan, this.weights, trace, sample.y, this.grads);
    const correct = argmaxRow(trace.logits, 0, trace.logits.length) === sample.y;
    if (++this.pending >= this.accumulate) this.flush();
    return { loss, correct };
  }

  /** Applies any accumulated gradient now. */
  flush(): void {
    if (this.pending === 0) return;
    const scale = 1 / this.pending;
    for (const u of this.plan.updates) {
      const g = this.grads.get(u.layer.opIndex)!;
      applyUpdate(this.model, u, g, scale, this.rule, this.roundingRng, this.stats);
      g.weight?.fill(0);
      g.bias?.fill(0);
    }
    this.pending = 0;
    this.appliedUpdates++;
    const changed = this.plan.updates.map((u) => u.layer.opIndex);
    this.runner.parametersChanged(changed);
    this.refreshWeights(changed);
  }

  /** Trains over the samples for some epochs in a seeded order. */
  train(samples: readonly Sample[], epochs: number, opts: { signal?: AbortSignal; onProgress?: (p: SparseProgress) => void } = {}): { loss: number; accuracy: number }[] {
    const history: { loss: number; accuracy: number }[] = [];
    const order = samples.map((_, i) => i);
    for (let epoch = 0; epoch < epochs; epoch++) {
      this.shuffleRng.shuffle(order);
      let loss = 0;
      let correct = 0;
      order.forEach((idx, n) => {
        if (opts.signal?.aborted) {
          const err = new Error('training cancelled');
          err.name = 'AbortError';
          throw err;
        }
        const r = this.step(samples[idx]);
        loss += r.loss;
        if (r.correct) correct++;
        if (opts.onProgress && n % 50 === 0) opts.onProgress({ epoch, epochs, sample: n, samples: samples.length, loss: r.loss });
      });
      this.flush();
      history.push({ loss: loss / Math.max(samples.length, 1), accuracy: correct / Math.max(samples.length, 1) });
    }
    return history;
  }

  /** Parameter updates applied so far (one per `accumulate` samples, plus each epoch's remainder). */
  get updates(): number {
    return this.appliedUpdates;
  }

  /** Top-1 accuracy of the current int8 model. */
  evaluate(samples: readonly Sample[]): number {
    if (samples.length === 0) return 0;
    let correct = 0;
    for (const s of samples) {
      const values = this.runner.run(quantizeInput(this.model, s.x));
      const logits = values(this.graph.logits);
      if (argmaxRow(logits, 0, logits.length) === s.y) correct++;
    }
    return correct / samples.length;
  }

  /** Real-valued weights the backward pass needs for input gradients, refreshed after updates. */
  private refreshWeights(opIndices: number[]): void {
    for (const l of this.graph.layers) if (opIndices.includes(l.opIndex)) this.weights.set(l.weight, realWeights(this.model, l));
  }
}
