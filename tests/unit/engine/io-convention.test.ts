import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateModelC } from '../../../src-main/core/engine/codegen/generate';
import { compileModel } from '../../../src-main/core/engine/compile';
import { applyIoConvention } from '../../../src-main/core/engine/io-convention';
import { findMcuProfile, loadMcuProfiles } from '../../../src-main/core/engine/mcu-profiles';
import { SigningKeyStore } from '../../../src-main/core/engine/package/keys';
import { readPackage } from '../../../src-main/core/engine/package/reader';
import { writePackage } from '../../../src-main/core/engine/package/writer';
import { seededInputs } from '../../../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../../../src-main/core/engine/runtime/interpreter';
import { buildFloatWrapped, buildOpZoo } from '../codegen/op-zoo';

const bytes = (v: ArrayBufferView) => Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));

describe('I/O convention', () => {
  it('int8 leaves the leading QUANTIZE and trailing DEQUANTIZE to the firmware and describes the int8 edges', () => {
    const model = buildFloatWrapped();
    const quantize = model.ops[0];
    const dequantize = model.ops.at(-1)!;
    const io = applyIoConvention(model, 'int8');
    expect(io.model.ops.map((o) => o.kind)).toEqual(model.ops.slice(1, -1).map((o) => o.kind));
    expect(io.model.inputs).toEqual([quantize.outputs[0]]);
    expect(io.model.outputs).toEqual([dequantize.inputs[0]]);
    const qin = model.tensors[quantize.outputs[0]].quant!;
    expect(io.inputs).toEqual([
      expect.objectContaining({ dtype: 'int8', scale: qin.scale[0], zeroPoint: qin.zeroPoint[0], firmwareOp: { kind: 'QUANTIZE', opIndex: quantize.index, floatTensor: model.inputs[0] } }),
    ]);
    expect(io.outputs[0]).toMatchObject({ dtype: 'int8', firmwareOp: { kind: 'DEQUANTIZE', opIndex: dequantize.index, floatTensor: model.outputs[0] } });
    // The source model is untouched.
    expect(model.ops).toHaveLength(io.model.ops.length + 2);
  });

  it('float, and models whose edges are int8 already, are unchanged', () => {
    const wrapped = buildFloatWrapped();
    expect(applyIoConvention(wrapped, 'float').model).toBe(wrapped);
    expect(applyIoConvention(wrapped, 'float').inputs[0]).toMatchObject({ dtype: 'float32' });
    const zoo = buildOpZoo();
    expect(applyIoConvention(zoo, 'int8').model).toBe(zoo);
    expect(() => applyIoConvention(zoo, 'bf16' as never)).toThrow(/unknown I\/O convention "bf16"/);
  });

  it('the int8 model computes exactly the int8 tensors the float model computes inside', () => {
    const model = buildFloatWrapped();
    const io = applyIoConvention(model, 'int8');
    for (const rounding of ['tflm', 'tflite'] as const) {
      for (const seed of [1, 2, 3]) {
        const full = createInterpreter(model, { rounding }).run(seededInputs(model, seed), { all: true });
        const quantized = full.intermediates!.get(io.model.inputs[0])!;
        const ours = createInterpreter(io.model, { rounding }).run([quantized]);
        expect(bytes(ours.outputs[0])).toEqual(bytes(full.intermediates!.get(io.model.outputs[0])!));
      }
    }
  });

  it('the compile report carries the convention, the edges and both per-layer peaks', () => {
    const model = buildFloatWrapped();
    const int8 = compileModel(model, { patch: 'none' });
    const float = compileModel(model, { patch: 'none', io: 'float' });
    expect(int8.io).toMatchObject({ convention: 'int8', inputs: [{ dtype: 'int8' }], outputs: [{ dtype: 'int8' }] });
    expect(float.io).toMatchObject({ convention: 'float', inputs: [{ dtype: 'float32' }] });
    expect(int8.io!.int8LayerPeakBytes).toBe(int8.layerPlan.peakBytes);
    expect(int8.io!.floatLayerPeakBytes).toBe(float.layerPlan.peakBytes);
    expect(float.io!.int8LayerPeakBytes).toBe(int8.layerPlan.peakBytes);
    // The float input (4 bytes per element) and its int8 copy are live together in the float plan.
    expect(float.layerPlan.peakBytes).toBeGreaterThan(int8.layerPlan.peakBytes);
    expect(int8.model.ops).toBe(model.ops.length - 2);
  });

  it('model.h gives the firmware the scale and zero point of every quantized edge', () => {
    const io = applyIoConvention(buildFloatWrapped(), 'int8');
    const header = generateModelC(io.model).files['model.h'];
    expect(header).toMatch(/#define TF_INPUT0_SCALE \S+f\n#define TF_INPUT0_ZERO_POINT 3\n/);
    expect(header).toContain(`#define TF_OUTPUT0_ZERO_POINT ${io.outputs[0].zeroPoint}\n`);
  });

  describe('package', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tf-io-pkg-'));
    afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
    const store = new SigningKeyStore(dataDir);
    const target = findMcuProfile(loadMcuProfiles(), 'nrf52840');

    it('int8 (the default) ships the int8 body and the edges in the manifest; it loads and runs', () => {
      const model = buildFloatWrapped();
      const pkg = writePackage(model, { modelId: 'f', modelVersion: '1', target, rounding: 'tflm', signer: store });
      const { manifest, model: loaded } = readPackage(pkg, store.keyPair().publicKey);
      const io = applyIoConvention(model, 'int8');
      expect(manifest.io).toEqual({
        convention: 'int8',
        inputs: [{ tensor: io.inputs[0].tensor, dtype: 'int8', shape: io.inputs[0].shape, scale: io.inputs[0].scale, zeroPoint: io.inputs[0].zeroPoint }],
        outputs: [{ tensor: io.outputs[0].tensor, dtype: 'int8', shape: io.outputs[0].shape, scale: io.outputs[0].scale, zeroPoint: io.outputs[0].zeroPoint }],
      });
      // Node indices stay the TFLite file's (node 0, the QUANTIZE, is gone).
      expect(loaded.ops.map((o) => o.index)).toEqual(io.model.ops.map((o) => o.index));
      expect(loaded.ops[0].index).toBe(1);
      const inputs = seededInputs(io.model, 4);
      expect(bytes(createInterpreter(loaded).run(inputs).outputs[0])).toEqual(bytes(createInterpreter(io.model).run(inputs).outputs[0]));
    });

    it('float keeps the QUANTIZE/DEQUANTIZE and says so', () => {
      const pkg = writePackage(buildFloatWrapped(), { modelId: 'f', modelVersion: '1', target, rounding: 'tflm', io: 'float', signer: store });
      const { manifest, model } = readPackage(pkg, store.keyPair().publicKey);
      expect(manifest.io).toMatchObject({ convention: 'float', inputs: [{ dtype: 'float32' }], outputs: [{ dtype: 'float32' }] });
      expect(model.ops[0].kind).toBe('QUANTIZE');
    });
  });
});
