import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import type { AnalysisOptions, BuildResult, BuildSizes } from '../../contract/models';
import { compileModel } from '../../engine/compile';
import type { FitReport } from '../../contract/compile-report';
import { bestFittingPlan, misfitReason } from '../../engine/fit';
import { DEFAULT_MAX_MAC_OVERHEAD } from '../../engine/patch/search';
import type { Model } from '../../engine/ir';
import { bundleFiles } from '../../engine/codegen/bundle';
import { emitCBundle, scheduleForReport } from '../../engine/codegen/emit';
import { applyIoConvention, type IoConvention } from '../../engine/io-convention';
import { buildMcu, elfSizes, hasTool } from '../../engine/codegen/toolchain';
import { mcuFlags } from '../../engine/codegen/bundle';
import { coreTarget } from '../../engine/codegen/cores';
import type { McuProfile } from '../../common/mcu-profile';
import { signEd25519 } from '../../engine/package/keys';
import { writePackage } from '../../engine/package/writer';
import type { RoundingMode } from '../../engine/runtime/requantize';

/** The cross compiler whose section sizes a build reports. */
export const CROSS_GCC = 'arm-none-eabi-gcc';

/** Compiles a stored model for one MCU: the C bundle (zip), the signed package, and real sizes. */
export interface BuildTask {
  kind: 'build';
  file: string;
  name: string;
  modelId: string;
  version: number;
  /** The target profile (checked by the registry) and the catalog compileModel reports fits for. */
  mcu: string;
  profiles: McuProfile[];
  /** The options that choose the schedule, as an analysis takes them (so the build is the analysed plan). */
  plan: AnalysisOptions;
  rounding: RoundingMode;
  /** Build even though the model does not fit `mcu`; otherwise the task refuses with the numbers. */
  allowMisfit: boolean;
  /**
   * Where `plan.patch` would patch (the per-layer schedule does not fit `mcu`), build the lowest-peak
   * plan instead (bestFittingPlan, within `plan.maxMacOverhead` or the default 20%): the most SRAM
   * headroom, as deployments want; where the per-layer schedule fits, build it.
   */
  bestFit: boolean;
  io: IoConvention;
  /**
   * The signing key as PKCS#8 PEM: KeyObjects do not cross to a worker, and signing here keeps the
   * package writer (which encodes every weight) off the core's thread.
   */
  privateKeyPem: string;
}

/** What a build produced (the package is signed; sizes are null without the cross compiler). */
export interface BuildOutput {
  ok: true;
  bundleZip: Uint8Array;
  bundleName: string;
  package: Uint8Array;
  packageName: string;
  sizes: BuildSizes | null;
  /** The target's fit in the report the build compiled (what the analysis's fit matrix shows). */
  fit: FitReport;
  schedule: { patched: boolean; n?: number; lastStageOp?: number; arenaBytes: number };
  misfit: boolean;
  core: BuildResult['core'];
  estimate: { flashBytes: number; sramBytes: number };
  toolchain: typeof CROSS_GCC | null;
}

/** The build was refused before anything was generated: the model does not fit the target. */
export interface BuildMisfit {
  ok: false;
  reason: 'does-not-fit';
  message: string;
}

/** A file-name-safe form of a model name ("person detect/v2" -> "person_detect_v2"). */
function fileStem(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'model';
}

/**
 * Runs in the model worker on the parsed model: compile for the MCU (the same report an analysis gives), emit the C
 * bundle of the chosen schedule into a temp dir, zip it, cross-compile it when arm-none-eabi-gcc is
 * installed to read the ELF's section sizes, and write the signed package.
 */
export async function runBuildTask(task: BuildTask, model: Model): Promise<BuildOutput | BuildMisfit> {
  const target = task.profiles.find((p) => p.id === task.mcu);
  if (!target) throw new Error(`MCU profile "${task.mcu}" is not in the catalog passed to the build`);
  const maxMacOverhead = task.plan.maxMacOverhead ?? DEFAULT_MAX_MAC_OVERHEAD;
  // `bestFit` searches for the lowest-peak plan only where the per-layer schedule does not fit the
  // target: patches cost extra MACs on every inference, and the search costs tens of seconds on
  // some models (a dry run over seven MCU classes of vww_96 took three minutes searching for all).
  const asked = compileModel(model, { ...task.plan, profiles: task.profiles, io: task.io });
  const report =
    task.bestFit && asked.patch.applied
      ? compileModel(model, { ...task.plan, patch: bestFittingPlan(model, target, { io: task.io, rounding: task.rounding, maxMacOverhead }).patch, profiles: task.profiles, io: task.io })
      : asked;
  // One source for the fit: the same report's row for the target, as the analysis shows it.
  const fit = report.fits.find((f) => f.mcu === target.id)!;
  if (!fit.fits && !task.allowMisfit) {
    // The numbers are the plan's the build chose (with `auto` for the target, its lowest peak): say which.
    const plan = report.patch.applied ? `patches ${report.patch.n}x${report.patch.n} up to node ${report.patch.lastStageOp}` : 'per layer';
    return { ok: false, reason: 'does-not-fit', message: `${misfitReason(fit)} (plan: ${plan})` };
  }
  const stem = `${fileStem(task.name)}-v${task.version}-${target.id}`;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tinyfleet-build-'));
  try {
    const { generated } = await emitCBundle(model, report.patch, dir, task.rounding, task.io, target.core);
    const entries: Record<string, Uint8Array> = {};
    const encoder = new TextEncoder();
    for (const [rel, text] of Object.entries(bundleFiles(generated, target.core))) entries[`${stem}/${rel}`] = encoder.encode(text);
    const bundleZip = zipSync(entries, { level: 6 });

    // Built and sized for the MCU's own core; a core without an Arm build gets the estimates only.
    const arch = coreTarget(target.core);
    const toolchain = arch.kind === 'arm' && hasTool(CROSS_GCC) ? CROSS_GCC : null;
    const sizes = toolchain ? await elfSizes(await buildMcu(dir, target.core)) : null;
    const core: BuildResult['core'] =
      arch.kind === 'arm'
        ? { id: arch.core, label: arch.label, flags: ['-O2', ...mcuFlags(arch)] }
        : { id: arch.core, label: arch.label, toolchainNeeded: arch.toolchain };

    const privateKey = createPrivateKey(task.privateKeyPem);
    // The package ships the schedule the report chose: with a patch stage it is format version 2.
    const { planned, patch } = scheduleForReport(applyIoConvention(model, task.io).model, report.patch);
    const pkg = writePackage(model, {
      modelId: task.modelId,
      modelVersion: String(task.version),
      target,
      rounding: task.rounding,
      ...(fit.fits ? {} : { misfit: fit }),
      io: task.io,
      planned,
      ...(patch ? { patch } : {}),
      signer: { sign: (data) => signEd25519(privateKey, data), publicKey: () => createPublicKey(privateKey) },
    });
    return {
      ok: true,
      bundleZip,
      bundleName: `${stem}-c.zip`,
      package: pkg,
      packageName: `${stem}.tfpk`,
      sizes,
      fit,
      schedule: report.patch.applied
        ? { patched: true, n: report.patch.n, lastStageOp: report.patch.lastStageOp, arenaBytes: report.peakSramBytes }
        : { patched: false, arenaBytes: report.peakSramBytes },
      misfit: !fit.fits,
      core,
      estimate: { flashBytes: fit.flashNeededBytes, sramBytes: fit.sramNeededBytes },
      toolchain,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
