import { RUNTIME_SRAM_BYTES } from '../../engine/cost/footprint';
import type { Model } from '../../engine/ir';
import { elementCount } from '../../engine/ir';
import { planModel } from '../../engine/planner/plan';
import type { TrainGraph } from '../sparse/graph';
import { analyseGraph } from '../sparse/graph';
import type { BackwardPlan } from '../sparse/plan';
import { planBackward } from '../sparse/plan';
import type { SparseScheme } from '../sparse/scheme';
import { describeScheme } from '../sparse/scheme';

/** Training memory of one scheme, in bytes. */
export interface TrainingMemory {
  scheme: string;
  /** Activation arena of the int8 forward as the engine plans it (per-layer schedule, no patches). */
  forwardArenaBytes: number;
  /** 8-bit activations kept for weight gradients (only the first k channels). */
  savedActivationBytes: number;
  /** 1 bit per output element of every clamped op the backward passes through. */
  maskBytes: number;
  /** 32-bit biases that are updated (they move from Flash to SRAM). */
  biasBytes: number;
  /** 8-bit weights that are updated (they move from Flash to SRAM; no momentum). */
  weightBytes: number;
  /** The published formula: saved activations + masks + biases + weights. */
  formulaBytes: number;
  /**
   * Float32 gradient tensors live at once during the backward pass. They reuse the forward
   * arena (free once the forward has finished); only the excess over it costs extra SRAM.
   */
  gradientWorkspaceBytes: number;
  /** SRAM needed beyond inference: formula + the workspace's excess over the arena. */
  trainingExtraBytes: number;
  /** Arena + training extra (the runtime's own SRAM not included). */
  totalBytes: number;
}

/** Estimates the training memory of schemes on one model (the arena is planned once). */
export class TrainingMemoryEstimator {
  readonly graph: TrainGraph;
  readonly forwardArenaBytes: number;
  /** SRAM the runtime needs besides the arena (the engine's figure). */
  readonly runtimeSramBytes = RUNTIME_SRAM_BYTES;

  constructor(readonly model: Model) {
    this.graph = analyseGraph(model);
    this.forwardArenaBytes = planModel(model, 'tinyengine').plan.peakBytes;
  }

  /** The SRAM left for training on a device: its SRAM minus the inference arena and the runtime. */
  budgetFor(deviceSramBytes: number): number {
    return deviceSramBytes - this.forwardArenaBytes - this.runtimeSramBytes;
  }

  estimate(scheme: SparseScheme): TrainingMemory {
    return this.estimatePlan(planBackward(this.graph, scheme), describeScheme(scheme));
  }

  estimatePlan(plan: BackwardPlan, name: string): TrainingMemory {
    const savedActivationBytes = plan.savedActivations.reduce((a, s) => a + s.elements, 0);
    const maskBytes = plan.masks.reduce((a, m) => a + Math.ceil(m.elements / 8), 0);
    const biasBytes = 4 * plan.updatedBiasElements;
    const weightBytes = plan.updatedWeightElements;
    const formulaBytes = savedActivationBytes + maskBytes + biasBytes + weightBytes;
    const gradientWorkspaceBytes = this.gradientWorkspace(plan);
    const trainingExtraBytes = formulaBytes + Math.max(0, gradientWorkspaceBytes - this.forwardArenaBytes);
    return {
      scheme: name,
      forwardArenaBytes: this.forwardArenaBytes,
      savedActivationBytes,
      maskBytes,
      biasBytes,
      weightBytes,
      formulaBytes,
      gradientWorkspaceBytes,
      trainingExtraBytes,
      totalBytes: this.forwardArenaBytes + trainingExtraBytes,
    };
  }

  /** Peak bytes of float32 gradient tensors live together while walking the backward ops. */
  private gradientWorkspace(plan: BackwardPlan): number {
    const { model, ops } = this.graph;
    const bytes = (t: number) => 4 * elementCount(model.tensors[t].shape);
    const opByIndex = new Map(ops.map((o) => [o.index, o]));
    const live = new Set<number>([this.graph.logits]);
    let current = bytes(this.graph.logits);
    let peak = current;
    for (const index of plan.backwardOps) {
      const op = opByIndex.get(index)!;
      // Pooling and reshapes pass the gradient on in place of a new buffer only when shapes agree.
      for (const t of op.inputs) {
        if (t < 0 || !plan.gradTensors.has(t) || live.has(t)) continue;
        live.add(t);
        current += bytes(t);
      }
      peak = Math.max(peak, current);
      if (live.delete(op.outputs[0])) current -= bytes(op.outputs[0]);
    }
    return peak;
  }
}
