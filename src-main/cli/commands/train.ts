import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { findMcuProfile, loadMcuProfiles } from '../../core/engine/mcu-profiles';
import type { Model } from '../../core/engine/ir';
import { writeTflite } from '../../core/engine/tflite/writer';
import {
  DEFAULT_CALIBRATION,
  TrainingMemoryEstimator,
  TrainingPool,
  baseOptimizer,
  describeScheme,
  isSchemeName,
  personalizationExperiment,
  qasSweep,
  readModelFile,
  resolveScheme,
  schemeTable,
  searchSchemeForBudget,
  standardSchemes,
  standardTableArms,
  taskOfModel,
  trainLocal,
  writeModelFile,
  type BaseModelRecipe,
  type CalibrationOptions,
  type FloatProgress,
  type LoadedModel,
  type SchemeArm,
  type SchemeSpec,
  type SparseScheme,
  type Task,
  type TaskId,
} from '../../core/train';
import { kib, parseMcuId, pct } from '../options';

/** Writes a model as TFLite (when the file name ends in .tflite) or as a TinyFleet model file. */
function saveModel(file: string, model: Model, recipe: BaseModelRecipe | undefined, meta: Record<string, unknown> = {}): Uint8Array {
  const bytes = file.toLowerCase().endsWith('.tflite') ? writeTflite(model) : writeModelFile(model, recipe, meta);
  writeFileSync(file, bytes);
  return bytes;
}

const int = (what: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected ${what} (an integer >= ${min})`);
  return n;
};
const positive = (value: string) => {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError('expected a number > 0');
  return n;
};
const numberList = (value: string) => {
  const list = value.split(',').map(Number);
  if (list.length === 0 || list.some((n) => !(Number.isFinite(n) && n > 0))) throw new InvalidArgumentError('expected comma-separated numbers > 0, e.g. 0.01,0.05');
  return list;
};
const taskId = (value: string): TaskId => {
  if (value !== 'mnist' && value !== 'imu') throw new InvalidArgumentError('expected mnist or imu');
  return value;
};

const json = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
const say = (quiet: boolean | undefined, line: string) => {
  if (!quiet) process.stderr.write(`${line}\n`);
};

/** Cancels long runs on Ctrl-C (the second Ctrl-C kills the process as usual). */
function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write('\ncancelling...\n');
    controller.abort(new Error('cancelled by the user'));
    process.off('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.off('SIGINT', onSigint) };
}

function loadModel(file: string): LoadedModel {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return readModelFile(bytes, path.basename(file, path.extname(file)));
}

/** `--scheme`: a standard scheme's name or a JSON scheme. */
function parseSchemeFlag(value: string): SchemeSpec {
  if (isSchemeName(value)) return value;
  try {
    return JSON.parse(value) as Partial<SparseScheme>;
  } catch {
    throw new Error(`--scheme must be bias, sparse, full, classifier or a JSON scheme like {"biasLastN":4,"weights":[{"op":12,"ratio":0.5}],"classifier":true}`);
  }
}

function progressPrinter(quiet: boolean | undefined) {
  return (p: FloatProgress) => {
    if (quiet) return;
    if (p.testAccuracy !== undefined) process.stderr.write(`\repoch ${p.epoch + 1}/${p.epochs} loss ${p.loss.toFixed(4)} test accuracy ${pct(p.testAccuracy)}\n`);
    else process.stderr.write(`\repoch ${p.epoch + 1}/${p.epochs} step ${p.step}/${p.stepsPerEpoch} loss ${p.loss.toFixed(4)}   `);
  };
}

interface BaseFlags {
  task: TaskId;
  epochs?: number;
  width?: number;
  resolution?: number;
  trainSamples?: number;
  seed?: number;
  optimizer: 'sgd' | 'adam';
  lr?: number;
  out?: string;
  json?: boolean;
}

async function baseCommand(flags: BaseFlags): Promise<void> {
  const optimizer = baseOptimizer(flags.optimizer, flags.lr);
  const recipe: BaseModelRecipe = { task: flags.task, epochs: flags.epochs, width: flags.width, resolution: flags.resolution, trainSamples: flags.trainSamples, seed: flags.seed, optimizer };
  const out = flags.out ?? `${flags.task}-base.tfm`;
  const pool = new TrainingPool();
  const interrupt = interruptSignal();
  try {
    say(flags.json, `training the ${flags.task} base model in a worker thread (Ctrl-C cancels)`);
    const r = await pool.trainBase(recipe, { signal: interrupt.signal, onProgress: progressPrinter(flags.json) });
    const loaded = readModelFile(r.modelFile, flags.task);
    const written = saveModel(out, loaded.model, loaded.recipe, loaded.meta);
    const estimator = new TrainingMemoryEstimator(loaded.model);
    const summary = {
      task: flags.task,
      out: path.resolve(out),
      fileBytes: written.byteLength,
      recipe: loaded.recipe,
      floatAccuracy: r.floatAccuracy,
      int8Accuracy: r.int8Accuracy,
      history: r.history,
      trainMs: Math.round(r.trainMs),
      forwardArenaBytes: estimator.forwardArenaBytes,
    };
    if (flags.json) json(summary);
    else {
      process.stdout.write(
        `wrote ${out} (${kib(written.byteLength)})\nfloat accuracy ${pct(r.floatAccuracy)}, int8 accuracy ${pct(r.int8Accuracy)} (engine runtime)\n` +
          `forward arena ${kib(estimator.forwardArenaBytes)}; trained in ${(r.trainMs / 1000).toFixed(1)} s\n`,
      );
    }
  } finally {
    interrupt.dispose();
    await pool.close();
  }
}

/** Searches the best scheme for a budget, printing the trial runs' progress unless the output is JSON. */
function searchForBudget(loaded: LoadedModel, task: Task, budget: number, calibration: CalibrationOptions, quiet: boolean | undefined, signal: AbortSignal) {
  return searchSchemeForBudget(loaded.model, task, budget, calibration, {
    signal,
    onProgress: (done, total) => !quiet && process.stderr.write(`\rmeasuring contributions ${done}/${total}   ${done === total ? '\n' : ''}`),
  });
}

interface SchemeFlags {
  model: string;
  budget?: number;
  mcu?: string;
  task?: TaskId;
  devices: number;
  samples: number;
  epochs: number;
  lr: number;
  weightLayers: number;
  json?: boolean;
}

function schemeCommand(flags: SchemeFlags): void {
  const loaded = loadModel(flags.model);
  const { task } = taskOfModel(loaded, flags.task);
  const estimator = new TrainingMemoryEstimator(loaded.model);
  let budget = flags.budget;
  if (flags.mcu) {
    const profile = findMcuProfile(loadMcuProfiles(), flags.mcu);
    budget = estimator.budgetFor(profile.sramBytes);
    say(flags.json, `${profile.name}: ${kib(profile.sramBytes)} SRAM - arena ${kib(estimator.forwardArenaBytes)} - runtime ${kib(estimator.runtimeSramBytes)} = ${kib(budget)} for training`);
  }
  if (budget === undefined) throw new Error('pass --budget BYTES or --mcu ID');
  const interrupt = interruptSignal();
  try {
    const { contributions, choice } = searchForBudget(loaded, task, budget, flags, flags.json, interrupt.signal);
    if (flags.json) {
      json({ budgetBytes: budget, forwardArenaBytes: estimator.forwardArenaBytes, runtimeSramBytes: estimator.runtimeSramBytes, contributions, choice: { ...choice, description: describeScheme(choice.scheme) } });
      return;
    }
    const m = choice.memory;
    process.stdout.write(
      [
        `calibration: base ${pct(contributions.baseAccuracy)}, classifier only ${pct(contributions.classifierOnlyAccuracy)}`,
        `bias gains by depth: ${contributions.biasGain.map((g, n) => `${n}:${(g * 100).toFixed(1)}`).join(' ')}`,
        ...contributions.weightGain.map((w) => `  W op${w.op} @${w.ratio}: ${(w.gain * 100).toFixed(1)} pts`),
        `chosen: ${describeScheme(choice.scheme)} (expected gain ${(choice.expectedGain * 100).toFixed(1)} pts, ${choice.evaluated} schemes evaluated)`,
        `memory: training extra ${kib(m.trainingExtraBytes)} of budget ${kib(budget)} (activations ${kib(m.savedActivationBytes)}, masks ${kib(m.maskBytes)}, biases ${kib(m.biasBytes)}, weights ${kib(m.weightBytes)}, gradient workspace ${kib(m.gradientWorkspaceBytes)} in the ${kib(m.forwardArenaBytes)} arena)`,
        `scheme JSON: ${JSON.stringify(choice.scheme)}`,
      ].join('\n') + '\n',
    );
  } finally {
    interrupt.dispose();
  }
}

interface LocalFlags {
  model: string;
  deviceSeed: number;
  task?: TaskId;
  scheme: string;
  lr: number;
  qas: boolean;
  epochs: number;
  samples: number;
  evalSamples: number;
  alpha: number;
  severity: number;
  out?: string;
  json?: boolean;
}

function localCommand(flags: LocalFlags): void {
  const loaded = loadModel(flags.model);
  const { task, recipe } = taskOfModel(loaded, flags.task);
  const scheme = resolveScheme(loaded.model, parseSchemeFlag(flags.scheme));
  const memory = new TrainingMemoryEstimator(loaded.model).estimate(scheme);
  const interrupt = interruptSignal();
  try {
    const r = trainLocal(loaded.model, task, flags.deviceSeed, {
      scheme,
      lr: flags.lr,
      qas: flags.qas,
      epochs: flags.epochs,
      data: { trainSamples: flags.samples, evalSamples: flags.evalSamples, alpha: flags.alpha, severity: flags.severity },
      signal: interrupt.signal,
      onProgress: (p) => !flags.json && process.stderr.write(`\repoch ${p.epoch + 1}/${p.epochs} sample ${p.sample}/${p.samples} loss ${p.loss.toFixed(3)}   `),
    });
    if (!flags.json) process.stderr.write('\n');
    if (flags.out) saveModel(flags.out, r.model, recipe, { personalizedFor: flags.deviceSeed, scheme });
    const { model: _model, ...result } = r;
    if (flags.json) json({ ...result, scheme: describeScheme(scheme), memory, out: flags.out ? path.resolve(flags.out) : undefined });
    else {
      process.stdout.write(
        `device ${flags.deviceSeed}: held-out accuracy ${pct(r.before)} -> ${pct(r.after)} (${r.after >= r.before ? '+' : ''}${((r.after - r.before) * 100).toFixed(1)} pts)\n` +
          `scheme ${describeScheme(scheme)}; ${r.steps} steps in ${(r.trainMs / 1000).toFixed(2)} s (${(r.trainMs / r.steps).toFixed(2)} ms/step); training memory ${kib(memory.trainingExtraBytes)} + arena ${kib(memory.forwardArenaBytes)}\n` +
          (flags.out ? `wrote ${flags.out}\n` : ''),
      );
    }
  } finally {
    interrupt.dispose();
  }
}

interface ExperimentFlags {
  model: string;
  task?: TaskId;
  which: string;
  devices: number;
  samples: number;
  evalSamples: number;
  epochs: number;
  lr: number;
  lrs: number[];
  rawLrs: number[];
  budget?: number;
  json?: boolean;
}

function experimentCommand(flags: ExperimentFlags): void {
  const loaded = loadModel(flags.model);
  const { task } = taskOfModel(loaded, flags.task);
  const which = new Set(flags.which.split(','));
  for (const w of which) if (!['personalization', 'qas', 'table'].includes(w)) throw new Error(`unknown experiment "${w}" (expected personalization, qas, table)`);
  const schemes = standardSchemes(loaded.model);
  const data = { trainSamples: flags.samples, evalSamples: flags.evalSamples };
  const common = { devices: flags.devices, epochs: flags.epochs, data };
  const interrupt = interruptSignal();
  const progress = (label: string) => (done: number, total: number) => !flags.json && process.stderr.write(`\r${label} ${done}/${total}   ${done === total ? '\n' : ''}`);
  const out: Record<string, unknown> = { model: loaded.model.name, task: task.info.id, devices: flags.devices, samplesPerDevice: flags.samples, epochs: flags.epochs };
  try {
    if (which.has('personalization')) {
      const arms: SchemeArm[] = [{ name: 'sparse', scheme: schemes.sparse, lr: flags.lr }];
      const r = personalizationExperiment(loaded.model, task, { ...common, arms, signal: interrupt.signal, onProgress: progress('personalization') });
      out.personalization = r;
      if (!flags.json) {
        const a = r.arms[0];
        process.stdout.write(
          `personalization (${a.scheme}, lr ${a.lr}, ${flags.samples} samples, ${flags.devices} devices): held-out ${pct(a.before.mean)} -> ${pct(a.after.mean)}, ` +
            `gain ${(a.gain.mean * 100).toFixed(1)} pts (median ${(a.gain.median * 100).toFixed(1)}, min ${(a.gain.min * 100).toFixed(1)}, max ${(a.gain.max * 100).toFixed(1)}); improved on ${pct(a.improved)}, worse on ${pct(a.worsened)}\n`,
        );
      }
    }
    if (which.has('qas')) {
      const r = qasSweep(loaded.model, task, schemes.sparse, { qas: flags.lrs, noQas: flags.rawLrs }, { ...common, signal: interrupt.signal, onProgress: progress('QAS sweep') });
      out.qas = r;
      if (!flags.json) {
        process.stdout.write(`QAS vs no QAS (${describeScheme(schemes.sparse)}), held-out before ${pct(r.accuracyBefore)}:\n`);
        for (const p of r.points) process.stdout.write(`  ${p.qas ? 'QAS   ' : 'no QAS'} lr ${String(p.lr).padEnd(8)} after ${pct(p.accuracyAfter).padStart(6)}  gain ${(p.gain * 100).toFixed(1).padStart(5)} pts  improved ${pct(p.improved)}\n`);
      }
    }
    if (which.has('table')) {
      const searched = flags.budget === undefined ? undefined : searchForBudget(loaded, task, flags.budget, { ...DEFAULT_CALIBRATION, lr: flags.lr }, flags.json, interrupt.signal).choice;
      if (searched) out.searchedScheme = { ...searched, description: describeScheme(searched.scheme) };
      const r = schemeTable(loaded.model, task, standardTableArms(loaded.model, flags.lr, searched?.scheme), { ...common, signal: interrupt.signal, onProgress: progress('scheme table') });
      out.table = { rows: r.rows, engine: r.engine };
      if (!flags.json) {
        process.stdout.write(`accuracy vs training memory (forward arena planned by the engine: ${kib(r.engine.forwardArenaBytes)}, runtime ${kib(r.engine.runtimeSramBytes)}):\n`);
        process.stdout.write(`  ${'scheme'.padEnd(11)} ${'acc after'.padStart(9)} ${'gain'.padStart(7)} ${'formula'.padStart(10)} ${'act'.padStart(9)} ${'masks'.padStart(9)} ${'bias'.padStart(9)} ${'weights'.padStart(10)} ${'grad ws'.padStart(10)} ${'total'.padStart(10)}\n`);
        for (const row of r.rows) {
          const m = row.memory;
          process.stdout.write(
            `  ${row.name.padEnd(11)} ${pct(row.accuracyAfter).padStart(9)} ${(row.gain * 100).toFixed(1).padStart(7)} ${kib(m.formulaBytes).padStart(10)} ${kib(m.savedActivationBytes).padStart(9)} ${kib(m.maskBytes).padStart(9)} ${kib(m.biasBytes).padStart(9)} ${kib(m.weightBytes).padStart(10)} ${kib(m.gradientWorkspaceBytes).padStart(10)} ${kib(m.totalBytes).padStart(10)}\n`,
          );
        }
      }
    }
    if (flags.json) json(out);
  } finally {
    interrupt.dispose();
  }
}

/** `tinyfleet train ...`: base models, scheme search, local (device) training and the experiments. */
export function registerTrain(program: Command): void {
  const train = program.command('train').description('float training + int8 quantization, on-device sparse update with QAS, training memory and scheme search');
  train
    .command('base')
    .description('train the global float model of a task in a worker thread, quantize it to int8 and write it to a file')
    .requiredOption('--task <task>', 'mnist or imu', taskId)
    .option('--epochs <n>', 'training epochs', int('epochs', 0))
    .option('--width <w>', 'channel width multiplier', positive)
    .option('--resolution <px>', 'MNIST input side', int('a resolution', 8))
    .option('--train-samples <n>', 'global training samples', int('a count', 1))
    .option('--seed <n>', 'seed', int('a seed', 0))
    .option('--optimizer <kind>', 'adam or sgd (momentum 0.9)', (v: string) => {
      if (v !== 'adam' && v !== 'sgd') throw new InvalidArgumentError('expected adam or sgd');
      return v;
    }, 'adam')
    .option('--lr <lr>', 'learning rate (default 0.004 for adam, 0.05 for sgd)', positive)
    .option('--out <file>', 'model file to write: TinyFleet format, or TFLite when it ends in .tflite (default <task>-base.tfm)')
    .option('--json', 'print the result as JSON')
    .action((flags: BaseFlags) => baseCommand(flags));
  train
    .command('scheme')
    .description("measure each layer's contribution on a calibration split and pick the best sparse scheme that fits a memory budget")
    .requiredOption('--model <file>', 'model file (TinyFleet .tfm or int8 .tflite with --task)')
    .option('--budget <bytes>', 'SRAM bytes available for training (device SRAM minus arena and runtime)', int('bytes', 0))
    .option('--mcu <id>', 'derive the budget from an MCU profile', parseMcuId)
    .option('--task <task>', 'task of a model file that does not record it', taskId)
    .option('--devices <n>', 'shifted devices pooled into the calibration split', int('a count', 1), DEFAULT_CALIBRATION.devices)
    .option('--samples <n>', 'calibration training samples (as many held out)', int('a count', 8), DEFAULT_CALIBRATION.samples)
    .option('--epochs <n>', 'epochs of each trial', int('epochs', 1), DEFAULT_CALIBRATION.epochs)
    .option('--lr <lr>', 'learning rate of each trial', positive, DEFAULT_CALIBRATION.lr)
    .option('--weight-layers <n>', 'consider the weights of the last n CONV_2D layers', int('a count', 0), DEFAULT_CALIBRATION.weightLayers)
    .option('--json', 'print the result as JSON')
    .action((flags: SchemeFlags) => schemeCommand(flags));
  train
    .command('local')
    .description("run one simulated device's local sparse update on the int8 graph and report held-out accuracy before and after")
    .requiredOption('--model <file>', 'model file')
    .requiredOption('--device-seed <n>', 'seed of the device (its shift, label skew and data)', int('a seed', 0))
    .option('--task <task>', 'task of a model file that does not record it', taskId)
    .option('--scheme <scheme>', 'bias, sparse, full, classifier or a JSON scheme', 'sparse')
    .option('--lr <lr>', 'learning rate (QAS makes it the float-SGD rate)', positive, 0.003)
    .option('--no-qas', 'turn quantization-aware scaling off')
    .option('--epochs <n>', 'passes over the local samples', int('epochs', 1), 3)
    .option('--samples <n>', 'local training samples', int('a count', 1), 150)
    .option('--eval-samples <n>', 'held-out samples', int('a count', 1), 300)
    .option('--alpha <a>', 'Dirichlet label skew', positive, 1)
    .option('--severity <s>', 'scale of the input shift', positive, 1)
    .option('--out <file>', 'write the personalized model (.tflite for TFLite)')
    .option('--json', 'print the result as JSON')
    .action((flags: LocalFlags) => localCommand(flags));
  train
    .command('experiment')
    .description('personalization over many devices, QAS vs no QAS over a learning-rate sweep, bias-only vs sparse vs full against memory')
    .requiredOption('--model <file>', 'model file')
    .option('--task <task>', 'task of a model file that does not record it', taskId)
    .option('--which <list>', 'personalization,qas,table', 'personalization,qas,table')
    .option('--devices <n>', 'devices', int('a count', 1), 20)
    .option('--samples <n>', 'local training samples per device', int('a count', 1), 150)
    .option('--eval-samples <n>', 'held-out samples per device', int('a count', 1), 300)
    .option('--epochs <n>', 'passes over the local samples', int('epochs', 1), 3)
    .option('--lr <lr>', 'learning rate of personalization and the table', positive, 0.003)
    .option('--lrs <list>', 'QAS learning rates', numberList, [0.001, 0.003, 0.01, 0.03, 0.1])
    .option('--budget <bytes>', 'also search the best scheme for this training-memory budget and add it to the table', int('bytes', 0))
    .option('--raw-lrs <list>', 'learning rates without QAS (the raw int8-graph gradient)', numberList, [0.01, 1, 100, 10000, 1000000])
    .option('--json', 'print the result as JSON')
    .action((flags: ExperimentFlags) => experimentCommand(flags));
}
