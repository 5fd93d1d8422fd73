import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { type RunReport, type ReportTensor, runReport } from '../../core/engine/run-report';
import { inputsFromBytes, seededInputs } from '../../core/engine/runtime/inputs';
import { createInterpreter } from '../../core/engine/runtime/interpreter';
import { ROUNDING_MODES, type RoundingMode } from '../../core/engine/runtime/requantize';
import { readTflite } from '../../core/engine/tflite/reader';
import { parseRounding } from '../options';

interface RunFlags {
  seed: number;
  input: string[];
  all?: boolean;
  rounding: RoundingMode;
  json?: boolean;
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new InvalidArgumentError('expected a whole number from 0 to 4294967295');
  return n;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function preview(t: ReportTensor, limit = 10): string {
  const head = t.data.slice(0, limit).map((v) => (Number.isInteger(v) ? String(v) : v.toPrecision(4)));
  let line = `[${head.join(', ')}${t.data.length > limit ? `, … (${t.data.length})` : ''}]`;
  if (typeof t.scale === 'number' && typeof t.zeroPoint === 'number') {
    const s = t.scale, z = t.zeroPoint;
    line += ` ≈ [${t.data.slice(0, limit).map((v) => (s * (v - z)).toFixed(3)).join(', ')}${t.data.length > limit ? ', …' : ''}]`;
  }
  return line;
}

/** The human-readable summary of a run. */
export function formatRunReport(r: RunReport, opCount: number): string {
  const tensorLine = (t: ReportTensor) => `  #${t.index} ${t.name} ${t.type}[${t.shape.join(', ')}] ${preview(t)}`;
  const lines = [
    `model ${r.model}: ${opCount} ops, rounding ${r.runtime.rounding}, ${r.invokeMs[0].toFixed(1)} ms`,
    `inputs${r.seed !== undefined ? ` (seed ${r.seed})` : ''}:`,
    ...r.inputs.map(tensorLine),
    'outputs:',
    ...r.outputs.map(tensorLine),
  ];
  if (r.intermediates) lines.push('intermediates:', ...r.intermediates.map((t) => `${tensorLine(t)} <- ${t.producer?.op} #${t.producer?.node}`));
  return lines.join('\n');
}

/** `tinyfleet run`: one inference with the TS int8 runtime, printed in the TFLite oracle's JSON shape. */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run one inference of an int8 .tflite model on the TypeScript runtime (inputs seeded as the TFLite oracle does, or raw files)')
    .argument('<model>', 'a .tflite file')
    .option('--seed <n>', 'seed of the oracle\'s mulberry32 input recipe', parseSeed, 1)
    .option('--input <file>', 'raw little-endian bytes of one input (repeat per input, in order)', collect, [] as string[])
    .option('--all', 'also print every op\'s output tensor')
    .option('--rounding <mode>', `requantization rounding: ${ROUNDING_MODES.join(' | ')}`, parseRounding, 'tflm')
    .option('--json', 'print the oracle-shaped JSON report')
    .action((file: string, flags: RunFlags) => {
      const model = readTflite(new Uint8Array(readFileSync(file)), { name: path.basename(file) });
      const interpreter = createInterpreter(model, { rounding: flags.rounding });
      const seeded = flags.input.length === 0;
      const inputs = seeded ? seededInputs(model, flags.seed) : inputsFromBytes(model, flags.input.map((f) => new Uint8Array(readFileSync(f))));
      const report = runReport(interpreter, inputs, { modelName: file, seed: seeded ? flags.seed : undefined, all: flags.all });
      process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : `${formatRunReport(report, model.ops.length)}\n`);
    });
}
