/**
 * `npm run bench -- train [--model FILE]... [--steps N] [--samples N] [--epochs N] [--eval N]`
 *
 * The cost of on-device training as the simulator runs it. Per model (the MNIST and IMU base
 * recipes, built untrained here since timing does not depend on the weights, or given files), one
 * JSON line with:
 *   - ms per training step (int8 forward on the engine runtime + sparse backward + update, batch 1)
 *     for the classifier-only, bias-only, sparse and full schemes, and ms per inference;
 *   - samples per second per core for each;
 *   - the estimator's training memory per scheme next to the engine's planned forward arena;
 *   - simulated devices per minute on this machine: a device session is `samples` local samples x
 *     `epochs` passes of sparse training plus two held-out evaluations of `eval` samples, one
 *     device per core.
 */
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Model } from '../src-main/core/engine/ir';
import { createDeviceData } from '../src-main/core/train/data/device-data';
import { createTask } from '../src-main/core/train/data/tasks';
import type { Task } from '../src-main/core/train/data/task';
import { taskOptionsOf, trainBaseModel } from '../src-main/core/train/base-model';
import { standardSchemes } from '../src-main/core/train/experiments/standard-schemes';
import { TrainingMemoryEstimator } from '../src-main/core/train/memory/estimator';
import { readModelFile } from '../src-main/core/train/quant/model-file';
import { engineRunner } from '../src-main/core/train/sparse/engine-runner';
import { SparseTrainer } from '../src-main/core/train/sparse/trainer';

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} needs a positive integer`);
  return n;
}

function modelsOf(args: string[]): { model: Model; task: Task; source: string }[] {
  const files = args.flatMap((a, i) => (a === '--model' ? [args[i + 1]] : []));
  if (files.length > 0) {
    return files.map((f) => {
      const loaded = readModelFile(new Uint8Array(readFileSync(f)), path.basename(f));
      if (!loaded.recipe) throw new Error(`${f} records no task; bench needs TinyFleet model files`);
      return { model: loaded.model, task: createTask(loaded.recipe.task, taskOptionsOf(loaded.recipe)), source: f };
    });
  }
  return (['mnist', 'imu'] as const).map((task) => {
    const base = trainBaseModel({ task, epochs: 0, trainSamples: 64, testSamples: 16, calibrationSamples: 64 });
    return { model: base.model, task: createTask(task, taskOptionsOf(base.recipe)), source: `${task} base recipe (untrained)` };
  });
}

export async function run(args: string[]): Promise<void> {
  const steps = flag(args, '--steps', 200);
  const samples = flag(args, '--samples', 150);
  const epochs = flag(args, '--epochs', 3);
  const evalSamples = flag(args, '--eval', 300);
  const cores = availableParallelism();
  for (const { model, task, source } of modelsOf(args)) {
    const device = createDeviceData(task, 4242, { trainSamples: Math.min(steps, 400), evalSamples: 100 });
    const schemes = standardSchemes(model);
    const estimator = new TrainingMemoryEstimator(model);
    const perScheme: Record<string, { msPerStep: number; samplesPerSecondPerCore: number; memory: ReturnType<TrainingMemoryEstimator['estimate']> }> = {};
    let msPerInference = 0;
    for (const [name, scheme] of Object.entries(schemes)) {
      const trainer = new SparseTrainer(model, { scheme, lr: 0.01 }, engineRunner());
      // Warm up the JIT, then time `steps` steps.
      for (const s of device.train.slice(0, 20)) trainer.step(s);
      const started = performance.now();
      for (let i = 0; i < steps; i++) trainer.step(device.train[i % device.train.length]);
      const ms = (performance.now() - started) / steps;
      perScheme[name] = { msPerStep: round(ms), samplesPerSecondPerCore: round(1000 / ms), memory: estimator.estimate(scheme) };
      if (name === 'classifier') {
        const t0 = performance.now();
        trainer.evaluate(device.eval);
        msPerInference = (performance.now() - t0) / device.eval.length;
      }
    }
    const session = (msStep: number) => samples * epochs * msStep + 2 * evalSamples * msPerInference;
    const devicesPerMinute = (name: string) => round((60_000 / session(perScheme[name].msPerStep)) * cores);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'train',
        model: model.name,
        source,
        ops: model.ops.length,
        forwardArenaBytes: estimator.forwardArenaBytes,
        msPerInference: round(msPerInference),
        schemes: perScheme,
        deviceSession: { samples, epochs, evalSamples, cores },
        devicesPerMinute: Object.fromEntries(Object.keys(perScheme).map((n) => [n, devicesPerMinute(n)])),
      })}\n`,
    );
  }
}

const round = (v: number) => Math.round(v * 1000) / 1000;
