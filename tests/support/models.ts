import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireOrSkip } from './require-tools';

/**
 * Where the published test models live. They are test data outside the project
 * (`../shared/models` relative to the project root), never copied in; tests that need them skip
 * with a printed reason when the folder is absent (and fail with REQUIRE_TOOLS=1).
 */
export const projectRoot = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const modelsDir = path.resolve(projectRoot, '../shared/models');
export const modelsAvailable = existsSync(path.join(modelsDir, 'hello_world_int8.tflite'));

/** Models the engine must run bit-exactly against the TFLite oracle, smallest first. */
export const RUNNABLE_MODELS = [
  'hello_world_int8.tflite',
  'micro_speech_quantized.tflite',
  'kws_ref_model.tflite',
  'person_detect.tflite',
  'vww_96_int8.tflite',
  'mcunet_vww1.tflite',
  'mobilenet_v2_int8_224.tflite',
] as const;

/**
 * Models the engine runs that the TFLite oracle cannot (its WASM traps on the int8 SVDF state only
 * TFLite Micro supports): checked against a transcription of TFLite Micro's kernels instead.
 */
export const TFLM_ONLY_MODELS = ['keyword_scrambled_8bit.tflite'] as const;

/** Models the engine must reject, with the op names their error has to mention. */
export const REJECTED_MODELS = {
  'person_detect_vela.tflite': ['CUSTOM "ethos-u" at node 0'],
} as const;

/** Absolute path of a published model. */
export function modelPath(name: string): string {
  return path.join(modelsDir, name);
}

/** The bytes of a published model (as a fresh Uint8Array that owns its buffer). */
export function readModelBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(modelPath(name)));
}

/** The skip flag of a suite that needs the published models (see requireOrSkip). */
export function skipWithoutModels(suite: string): boolean {
  return requireOrSkip(suite, modelsAvailable ? null : `published models not found at ${modelsDir}`);
}
