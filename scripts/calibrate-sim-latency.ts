/**
 * Measures the Cortex-M7 instructions per multiply-accumulate of our generated C kernels, the
 * figure behind the simulator's inference latency (src-main/core/sim/inference-latency.ts).
 * Cross-compiles each model with arm-none-eabi-gcc -mcpu=cortex-m7 -O2, runs one inference under
 * qemu-system-arm -M mps2-an500 -icount shift=0 (engine/codegen/proof.ts) and divides the counted
 * instructions by the model's MACs (engine/cost/macs.ts). Prints one JSON line per model.
 *
 *   npx tsx scripts/calibrate-sim-latency.ts [../shared/models/person_detect.tflite ...]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { proveOnQemu } from '../src-main/core/engine/codegen/proof';
import { modelCost } from '../src-main/core/engine/cost/macs';
import { readTflite } from '../src-main/core/engine/tflite/reader';

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: npx tsx scripts/calibrate-sim-latency.ts MODEL.tflite...\n');
  process.exit(2);
}
for (const file of files) {
  const model = readTflite(new Uint8Array(readFileSync(file)), { name: path.basename(file) });
  const macs = modelCost(model).macs;
  const started = Date.now();
  const proof = await proveOnQemu(model, { rounding: 'tflm', seed: 1 });
  process.stdout.write(
    JSON.stringify({ model: path.basename(file), macs, instructions: proof.instructions, instructionsPerMac: proof.instructions / macs, outputsEqual: proof.outputsEqual, wallS: (Date.now() - started) / 1000 }) + '\n',
  );
}
