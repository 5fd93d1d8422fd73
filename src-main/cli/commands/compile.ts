import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { coreTarget } from '../../core/engine/codegen/cores';
import { emitCBundle } from '../../core/engine/codegen/emit';
import { compileModel, type CompileProgress } from '../../core/engine/compile';
import type { CompileReport, PlanSummary } from '../../core/contract/compile-report';
import { DEFAULT_IO_CONVENTION, type IoConvention } from '../../core/engine/io-convention';
import type { PatchMode } from '../../core/engine/patch/search';
import { readTflite } from '../../core/engine/tflite/reader';
import { kib, parseMcuId, pct } from '../options';

interface CompileFlags {
  mcu?: string;
  patch: PatchMode;
  sramBudget?: number;
  maxMacOverhead?: number;
  /** true when --prove is given without a seed. */
  prove?: true | number;
  json?: boolean;
  /** Directory for the generated C bundle. */
  emitC?: string;
  io: IoConvention;
}

/** `int8` (the firmware quantizes at the model's edges) or `float`. */
export function parseIoConvention(value: string): IoConvention {
  if (value !== 'int8' && value !== 'float') throw new InvalidArgumentError('expected int8 or float');
  return value;
}

/** The --io option of compile and package. */
export const IO_OPTION_HELP =
  'I/O convention: int8 (the firmware quantizes inputs and dequantizes outputs; a leading QUANTIZE and trailing DEQUANTIZE are not compiled) or float (the model\'s own float edges run on the device)';

/** `none`, `auto` or `NxN` (square grids only). */
export function parsePatchMode(value: string): PatchMode {
  if (value === 'none' || value === 'auto') return value;
  const m = /^(\d+)x(\d+)$/i.exec(value);
  if (!m) throw new InvalidArgumentError('expected none, auto or NxN (e.g. 4x4)');
  const [h, w] = [Number(m[1]), Number(m[2])];
  if (h !== w) throw new InvalidArgumentError(`patch grids are square: got ${h}x${w}`);
  if (h < 1) throw new InvalidArgumentError('the patch grid needs at least 1x1');
  return { n: h };
}

function parseBytes(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number of bytes');
  return n;
}

function parseSeed(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('expected an integer seed');
  return n;
}

function parseRatio(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a ratio >= 0, e.g. 0.2 for 20%');
  return n;
}

function timelineLines(plan: PlanSummary, width = 40): string[] {
  const max = Math.max(plan.peakBytes, 1);
  return plan.timeline.map((e) => {
    const bar = '#'.repeat(Math.round((e.liveBytes / max) * width));
    const mark = e.step === plan.peakOp.step ? ' <- peak' : '';
    const what = e.coversOps ? `PATCH_STAGE (ops ${e.coversOps[0]}..${e.coversOps.at(-1)})` : `${e.kind} #${e.opIndex}`;
    return `  ${String(e.step).padStart(3)} ${what.padEnd(34)} ${kib(e.liveBytes).padStart(12)} ${bar}${mark}`;
  });
}

const edge = (t: NonNullable<CompileReport['io']>['inputs'][number]) =>
  `${t.dtype}[${t.shape.join(',')}]${t.scale !== undefined ? ` scale ${t.scale} zero point ${t.zeroPoint}` : ''}${t.firmwareOp ? ` (firmware does ${t.firmwareOp.kind} #${t.firmwareOp.opIndex})` : ''}`;

function ioLines(r: CompileReport): string[] {
  if (!r.io) return [];
  const { io } = r;
  return [
    `I/O ${io.convention}: per-layer peak ${kib(io.int8LayerPeakBytes)} with int8 I/O, ${kib(io.floatLayerPeakBytes)} with float I/O`,
    ...io.inputs.map((t, i) => `  input ${i}: ${edge(t)}`),
    ...io.outputs.map((t, i) => `  output ${i}: ${edge(t)}`),
  ];
}

/** Which compiler a build for the target's core needs, said plainly when TinyFleet cannot run it. */
function buildLines(r: CompileReport): string[] {
  if (!r.flash.core) return [];
  const target = coreTarget(r.flash.core);
  if (target.kind === 'arm') return [`build: ${target.label} with arm-none-eabi-gcc ${target.cpuFlags.join(' ')} -mthumb -O2`];
  return [`build: ${target.label} needs ${target.toolchain}; TinyFleet does not build for it, and its Flash figure is an estimate from ${coreTarget(r.flash.measuredCore ?? 'cortex-m7').label} measurements`];
}

/** The human-readable report. */
export function formatCompileReport(r: CompileReport): string {
  const lines = [
    `model ${r.model.name}: ${r.model.ops} ops, ${r.macs.toLocaleString('en')} MACs, ${r.params.toLocaleString('en')} params`,
    `Flash ${kib(r.flashBytes)}${r.flash.core ? ` on ${coreTarget(r.flash.core).label}` : ''} (weights ${kib(r.flash.weightBytes)}, bias ${kib(r.flash.biasBytes)}, requant ${kib(r.flash.requantBytes)}, calls ${kib(r.flash.opCallBytes + r.flash.patchCodeBytes)}, kernels + startup ${kib(r.flash.runtimeBytes)})`,
    ...buildLines(r),
    `peak SRAM ${kib(r.peakSramBytes)} (activations ${kib(r.activationArenaBytes)}, scratch ${kib(r.scratchBytes)}, lower bound ${kib(r.lowerBoundBytes)}) + runtime ${kib(r.runtimeSramBytes)}`,
    `peak at step ${r.peakOp.step}: ${r.peakOp.kind} #${r.peakOp.opIndex}`,
    ...ioLines(r),
    `per-layer plan ${kib(r.layerPlan.peakBytes)} | naive ${kib(r.baselines.naive.peakBytes)} | TFLM greedy ${kib(r.baselines.greedy.peakBytes)}`,
  ];
  const p = r.patch;
  lines.push(
    p.applied
      ? `patch-based: ${p.n}x${p.n} patches up to op #${p.lastStageOp} (stage output ${p.stageOutputShape!.join('x')}), peak ${kib(p.peakBytes!)} (${p.reduction!.toFixed(1)}x lower), +${p.extraMacs!.toLocaleString('en')} MACs (${pct(p.macOverhead!)})`
      : `patch-based: not used (${p.reason})`,
  );
  if (p.breakdown) {
    const b = p.breakdown;
    lines.push(
      `patch stage ${kib(b.stagePeakBytes)}: stage inputs ${kib(b.stageInputBytes)} + stage output ${kib(b.stageOutputBytes)} + one patch's working set ${kib(b.workingSetBytes)} + scratch ${kib(b.scratchBytes)}${b.otherLiveBytes ? ` + other live ${kib(b.otherLiveBytes)}` : ''}${b.overlapBytes ? ` - ${kib(b.overlapBytes)} of the output written over input rows already read` : ''}`,
    );
  }
  lines.push('timeline (live bytes per step):', ...timelineLines({ ...r.layerPlan, timeline: r.timeline, peakOp: r.peakOp, peakBytes: r.peakSramBytes }));
  lines.push('fits:');
  for (const f of r.fits) {
    lines.push(
      `  ${(f.fits ? 'yes' : 'NO ').padEnd(4)}${f.name.padEnd(12)} SRAM ${kib(f.sramNeededBytes).padStart(11)} of ${kib(f.sramBytes).padStart(10)} (headroom ${kib(f.sramHeadroomBytes)})  Flash ${kib(f.flashNeededBytes).padStart(11)} of ${kib(f.flashBytes).padStart(10)} (headroom ${kib(f.flashHeadroomBytes)})`,
    );
  }
  if (r.target) lines.push(`target ${r.target.name}: ${r.target.fits ? 'fits' : 'does NOT fit'}`);
  if (r.proof) {
    const verdict = (ok: boolean) => (ok ? 'outputs identical to the unplanned run' : 'OUTPUTS DIFFER from the unplanned run');
    lines.push(`proof (seed ${r.proof.seed}): per-layer plan ${verdict(r.proof.layerPlanMatches)}`);
    if (r.proof.patchPlanMatches !== undefined) lines.push(`proof (seed ${r.proof.seed}): patch-based plan ${verdict(r.proof.patchPlanMatches)}`);
  }
  lines.push(`compiled in ${r.compileMs.toFixed(0)} ms`);
  return lines.join('\n') + '\n';
}

/** `tinyfleet compile MODEL.tflite`: memory plan, patch schedule, cost and MCU fit of a model. */
export function registerCompile(program: Command): void {
  program
    .command('compile')
    .description('plan memory (TinyEngine-style, patch-based), count MACs/params/Flash and check the fit on MCU profiles')
    .argument('<model>', 'int8 TFLite model (.tflite)')
    .option('--mcu <id>', 'MCU profile id: report its fit (exit code 3 when it does not fit) and let --patch auto aim at its SRAM', parseMcuId)
    .option('--patch <mode>', 'patch-based inference: none, auto or NxN', parsePatchMode, 'auto' as PatchMode)
    .option('--sram-budget <bytes>', 'arena bytes --patch auto must fit, at the fewest extra MACs (default with --mcu: its SRAM minus the runtime)', parseBytes)
    .option('--max-mac-overhead <ratio>', 'largest extra-MAC ratio --patch auto accepts when there is no SRAM budget (default 0.2)', parseRatio)
    .option('--prove [seed]', 'prove the plan: run it in one arena on seeded inputs (default seed 1) and compare with an unplanned run', parseSeed)
    .option('--io <convention>', IO_OPTION_HELP, parseIoConvention, DEFAULT_IO_CONVENTION)
    .option('--json', 'print the report as JSON')
    .option('--emit-c <dir>', 'also write the C99 model for the chosen plan (model.h/model.c, kernels, Makefile, host and Cortex-M7 harnesses)')
    .action(async (file: string, flags: CompileFlags) => {
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(readFileSync(file));
      } catch (err) {
        throw new Error(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const model = readTflite(bytes, { name: path.basename(file, path.extname(file)) });
      const showProgress = !flags.json && process.stderr.isTTY;
      const onProgress = (p: CompileProgress) => {
        if (showProgress) process.stderr.write(`\rcompiling: ${p.phase} ${Math.round(p.fraction * 100)}%   ${p.fraction === 1 ? '\n' : ''}`);
      };
      const report = compileModel(
        model,
        {
          mcu: flags.mcu,
          patch: flags.patch,
          sramBudget: flags.sramBudget,
          maxMacOverhead: flags.maxMacOverhead,
          io: flags.io,
          prove: flags.prove === undefined ? undefined : { seed: flags.prove === true ? 1 : flags.prove },
        },
        onProgress,
      );
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatCompileReport(report));
      if (flags.emitC) {
        const { generated } = await emitCBundle(model, report.patch, flags.emitC, 'tflm', flags.io, report.flash.core);
        process.stderr.write(`wrote C model to ${flags.emitC}: arena ${generated.arenaBytes} bytes, ${generated.calls} kernel calls (make && ./model_host input.bin output.bin)\n`);
      }
      if (report.proof && (!report.proof.layerPlanMatches || report.proof.patchPlanMatches === false)) process.exitCode = 1;
      else if (report.target && !report.target.fits) process.exitCode = 3;
    });
}
