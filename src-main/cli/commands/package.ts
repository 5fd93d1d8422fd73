import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { IO_OPTION_HELP, parseIoConvention, parsePatchMode } from './compile';
import { scheduleForReport } from '../../core/engine/codegen/emit';
import type { PatchMode } from '../../core/engine/patch/search';
import { compileModel } from '../../core/engine/compile';
import { misfitReason } from '../../core/engine/fit';
import { findMcuProfile, loadMcuProfiles } from '../../core/engine/mcu-profiles';
import { parsePublicKey, SigningKeyStore } from '../../core/engine/package/keys';
import { readPackage } from '../../core/engine/package/reader';
import { writePackage } from '../../core/engine/package/writer';
import { describePackagePlan } from '../../core/deploy/fit-gate';
import type { RoundingMode } from '../../core/engine/runtime/requantize';
import { applyIoConvention, DEFAULT_IO_CONVENTION, type IoConvention } from '../../core/engine/io-convention';
import { readTflite } from '../../core/engine/tflite/reader';
import { resolveDataDir } from '../../core/store/data-dir';
import { kib, parseMcuId, parseRounding } from '../options';

const DATA_DIR_HELP = 'TinyFleet data directory holding the signing key (default: TINYFLEET_DATA_DIR or the OS data folder)';

function readFile(file: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

interface PackageFlags {
  mcu: string;
  out: string;
  id?: string;
  modelVersion: string;
  rounding: RoundingMode;
  io: IoConvention;
  patch: PatchMode;
  allowMisfit?: boolean;
  dataDir?: string;
  json?: boolean;
}

/**
 * `tinyfleet package` (signed OTA package of a model for one MCU profile), `tinyfleet verify`
 * (check a package's signature and hashes and load its model) and `tinyfleet signing-key` (export
 * the public key firmware verifies packages with).
 */
export function registerPackage(program: Command): void {
  program
    .command('package')
    .description('build a signed model package for over-the-air deployment (key pair created in the data directory on first use)')
    .argument('<model>', 'int8 TFLite model (.tflite)')
    .requiredOption('--mcu <id>', 'target MCU profile id, case-insensitive (refused with exit code 3 when the model does not fit it, unless --allow-misfit)', parseMcuId)
    .requiredOption('--out <file>', 'package file to write')
    .option('--id <id>', 'model id (default: the file name)')
    .option('--model-version <version>', 'model version', '1')
    .option('--rounding <mode>', 'requantization the device runs: tflm or tflite', parseRounding, 'tflm' as RoundingMode)
    .option('--allow-misfit', 'write the package even when the model does not fit the MCU (e.g. for a bigger board); the manifest records it')
    .option('--io <convention>', IO_OPTION_HELP, parseIoConvention, DEFAULT_IO_CONVENTION)
    .option(
      '--patch <mode>',
      'plan the package ships: auto (per layer when it fits the MCU, else the patch plan that fits at the fewest extra MACs), none (per layer) or NxN; a patch plan makes a format 2 package',
      parsePatchMode,
      'auto' as PatchMode,
    )
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print the manifest as JSON')
    .action((file: string, flags: PackageFlags) => {
      const name = path.basename(file, path.extname(file));
      const model = readTflite(readFile(file), { name });
      const profiles = loadMcuProfiles();
      const target = findMcuProfile(profiles, flags.mcu);
      // The fit of what the package ships, computed as every analysis computes it.
      const report = compileModel(model, { mcu: target.id, profiles, patch: flags.patch, io: flags.io });
      const fit = report.target!;
      if (!fit.fits && !flags.allowMisfit) {
        process.stderr.write(`tinyfleet: ${name} does not fit ${target.name}: ${misfitReason(fit)}; no package written (--allow-misfit writes it anyway)\n`);
        process.exitCode = 3;
        return;
      }
      if (!fit.fits) process.stderr.write(`warning: ${name} does not fit ${target.name}: ${misfitReason(fit)}; packaged anyway (--allow-misfit), the manifest records it\n`);
      const store = new SigningKeyStore(resolveDataDir({ flag: flags.dataDir }));
      const { planned, patch } = scheduleForReport(applyIoConvention(model, flags.io).model, report.patch);
      const bytes = writePackage(model, {
        planned,
        ...(patch ? { patch } : {}),
        modelId: flags.id ?? name,
        modelVersion: flags.modelVersion,
        target,
        rounding: flags.rounding,
        io: flags.io,
        signer: store,
        ...(fit.fits ? {} : { misfit: fit }),
      });
      writeFileSync(flags.out, bytes);
      const { manifest } = readPackage(bytes, store.keyPair().publicKey);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `wrote ${flags.out}: ${bytes.byteLength} bytes, model ${manifest.model.id} v${manifest.model.version} for ${manifest.target.name}, ` +
          `arena ${kib(manifest.memoryPlan.arenaBytes)} (${describePackagePlan(manifest.memoryPlan)}, format ${manifest.formatVersion}), weights ${kib(manifest.body.weightsBytes)}, rounding ${manifest.runtime.rounding}, I/O ${flags.io}\n` +
          `signed with key ${manifest.signer.publicKeySha256} (${store.publicKeyPath})\n`,
      );
    });

  program
    .command('verify')
    .description("verify a model package's signature and hashes and load its model")
    .argument('<file>', 'package file')
    .option('--pub <key>', 'public key: a PEM file, or 64 hex characters (default: the data directory key)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .option('--json', 'print the manifest as JSON')
    .action((file: string, flags: { pub?: string; dataDir?: string; json?: boolean }) => {
      let key;
      if (flags.pub) {
        key = parsePublicKey(/^[0-9a-fA-F]{64}$/.test(flags.pub.trim()) ? flags.pub : readFileSync(flags.pub, 'utf8'));
      } else {
        const store = new SigningKeyStore(resolveDataDir({ flag: flags.dataDir }));
        if (!store.exists()) throw new Error(`no signing key in ${store.dir}: pass --pub KEY or --data-dir`);
        key = store.keyPair().publicKey;
      }
      const { manifest, model, sha256 } = readPackage(readFile(file), key);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ valid: true, sha256, manifest }, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `OK ${file}: signature and hashes verify (sha256 ${sha256})\n` +
          `model ${manifest.model.id} v${manifest.model.version} "${model.name}": ${model.ops.length} ops, ${model.tensors.length} tensors, ` +
          `target ${manifest.target.name} (${manifest.target.core}), arena ${kib(manifest.memoryPlan.arenaBytes)}, rounding ${manifest.runtime.rounding}, ` +
          `engine ${manifest.engine.version}, runtime ${manifest.runtime.version}\n`,
      );
    });

  program
    .command('signing-key')
    .description('print the public key that verifies this installation\'s model packages (created on first use)')
    .option('--format <format>', 'pem, hex or c (a C array for firmware)', 'pem')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action((flags: { format: string; dataDir?: string }) => {
      const pub = new SigningKeyStore(resolveDataDir({ flag: flags.dataDir })).publicKey();
      if (flags.format === 'pem') process.stdout.write(pub.pem);
      else if (flags.format === 'hex') process.stdout.write(`${Buffer.from(pub.raw).toString('hex')}\n`);
      else if (flags.format === 'c') process.stdout.write(pub.cArray());
      else throw new Error(`unknown --format ${flags.format}: expected pem, hex or c`);
    });
}
