import type { Model } from '../../engine/ir';
import { readTflite } from '../../engine/tflite/reader';
import type { BaseModelRecipe } from '../base-model';
import { decodeModel, encodeModel } from './model-io';

/** A model read from disk with what TinyFleet knows about how it was made. */
export interface LoadedModel {
  model: Model;
  format: 'tinyfleet' | 'tflite';
  /** The recipe a TinyFleet model file records (absent for TFLite files). */
  recipe?: BaseModelRecipe;
  meta: Record<string, unknown>;
}

/** Reads a TinyFleet model file (magic TFMODEL1) or a TFLite flatbuffer (identifier TFL3). */
export function readModelFile(bytes: Uint8Array, name: string): LoadedModel {
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic === 'TFMODEL1') {
    const { model, meta } = decodeModel(bytes);
    return { model, format: 'tinyfleet', recipe: meta.recipe as BaseModelRecipe | undefined, meta };
  }
  if (new TextDecoder().decode(bytes.subarray(4, 8)) === 'TFL3') return { model: readTflite(bytes, { name }), format: 'tflite', meta: {} };
  throw new Error(`${name}: neither a TinyFleet model file (TFMODEL1) nor a TFLite flatbuffer (TFL3)`);
}

/** Encodes a model with its recipe for writing to disk. */
export function writeModelFile(model: Model, recipe: BaseModelRecipe | undefined, meta: Record<string, unknown> = {}): Uint8Array {
  return encodeModel(model, { ...meta, recipe });
}
