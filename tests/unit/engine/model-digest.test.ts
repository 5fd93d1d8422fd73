import { describe, expect, it } from 'vitest';
import { modelDigest } from '../../../src-main/core/engine/model-digest';
import { readTflite } from '../../../src-main/core/engine/tflite/reader';
import { writeTflite } from '../../../src-main/core/engine/tflite/writer';
import { readModelBytes, skipWithoutModels } from '../../support/models';

const skip = skipWithoutModels('model digest');

describe.skipIf(skip)('modelDigest', () => {
  const model = () => readTflite(readModelBytes('person_detect.tflite'));

  it('is the same for a model re-written as TFLite and read back, with buffers inside or after', () => {
    const base = model();
    for (const externalBuffers of [false, true]) expect(modelDigest(readTflite(writeTflite(base, { externalBuffers })))).toBe(modelDigest(base));
  });

  it('changes with one weight entry, one bias entry, one scale and one zero point', () => {
    const base = model();
    const digest = modelDigest(base);
    const weight = base.tensors.find((t) => t.data && t.dtype === 'int8' && t.shape.length === 4)!;
    const bias = base.tensors.find((t) => t.data && t.dtype === 'int32')!;
    const edits: ((m: ReturnType<typeof model>) => void)[] = [
      (m) => (m.tensors[weight.id]!.data![7]! ^= 1),
      (m) => (m.tensors[bias.id]!.data![0]! ^= 1),
      (m) => (m.tensors[weight.id]!.quant!.scale[0]! *= 2),
      (m) => (m.tensors[bias.id]!.quant!.zeroPoint[0]! += 1),
    ];
    for (const edit of edits) {
      const changed = model();
      edit(changed);
      expect(modelDigest(changed)).not.toBe(digest);
    }
  });

  it('ignores activations and op order, which a delta never changes', () => {
    const base = model();
    const renamed = model();
    for (const t of renamed.tensors) if (!t.data) t.name = `activation ${t.id}`;
    renamed.ops.reverse();
    expect(modelDigest(renamed)).toBe(modelDigest(base));
  });
});
