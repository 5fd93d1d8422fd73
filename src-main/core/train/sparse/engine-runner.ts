import type { Model } from '../../engine/ir';
import type { Interpreter } from '../../engine/runtime/interpreter';
import { createInterpreter } from '../../engine/runtime/interpreter';
import type { RoundingMode } from '../../engine/runtime/requantize';
import { int32View, int8View } from './real-params';
import type { Int8GraphRunner, RunnerFactory } from './trainer';

/**
 * The device's int8 forward: the engine's interpreter (the same kernels the simulator and the
 * generated C run). After an update, the changed weights and biases are copied into the
 * interpreter's prepared kernels (requantization multipliers stay fixed, as on the device).
 */
export class EngineRunner implements Int8GraphRunner {
  private readonly interpreter: Interpreter;

  constructor(
    private readonly model: Model,
    rounding: RoundingMode = 'tflm',
  ) {
    this.interpreter = createInterpreter(model, { rounding });
  }

  run(input: Int8Array): (tensor: number) => ArrayLike<number> {
    const result = this.interpreter.run([input], { all: true });
    const inputId = this.model.inputs[0];
    return (t) => {
      if (t === inputId) return input;
      const v = result.intermediates!.get(t);
      if (!v) throw new Error(`the interpreter produced no tensor ${t}`);
      return v as ArrayLike<number>;
    };
  }

  parametersChanged(opIndices: number[]): void {
    for (const step of this.interpreter.steps) {
      if (!opIndices.includes(step.op.index)) continue;
      const k = step.kernel;
      const T = this.model.tensors;
      if (k.kind === 'conv2d' || k.kind === 'depthwise') {
        syncInt8(k.params.filter, int8View(T[step.op.inputs[1]]));
        if (k.params.bias) k.params.bias.set(int32View(T[step.op.inputs[2]]));
      } else if (k.kind === 'fullyConnected') {
        syncInt8(k.params.weights, int8View(T[step.op.inputs[1]]));
        if (k.params.bias) k.params.bias.set(int32View(T[step.op.inputs[2]]));
      }
    }
  }
}

/** Copies unless the kernel already views the model's bytes. */
function syncInt8(target: Int8Array, source: Int8Array): void {
  if (target.buffer === source.buffer && target.byteOffset === source.byteOffset) return;
  target.set(source);
}

/** A runner factory for the engine interpreter with the given rounding. */
export function engineRunner(rounding: RoundingMode = 'tflm'): RunnerFactory {
  return (model) => new EngineRunner(model, rounding);
}
