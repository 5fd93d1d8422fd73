import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelCost } from '../../../src-main/core/engine/cost/macs';
import { applyIoConvention } from '../../../src-main/core/engine/io-convention';
import type { Model } from '../../../src-main/core/engine/ir';
import { findMcuProfile, loadMcuProfiles } from '../../../src-main/core/engine/mcu-profiles';
import { HEADER_BYTES, PackageError, SIGNATURE_BYTES, type PackageManifest } from '../../../src-main/core/engine/package/format';
import { SigningKeyStore, signEd25519 } from '../../../src-main/core/engine/package/keys';
import { createPackageRunner } from '../../../src-main/core/engine/package/package-runner';
import { readPackage } from '../../../src-main/core/engine/package/reader';
import { writePackage } from '../../../src-main/core/engine/package/writer';
import { choosePatch, type PatchMode } from '../../../src-main/core/engine/patch/search';
import { planModel } from '../../../src-main/core/engine/planner/plan';
import { seededInputs } from '../../../src-main/core/engine/runtime/inputs';
import { createInterpreter } from '../../../src-main/core/engine/runtime/interpreter';
import type { TensorView } from '../../../src-main/core/engine/runtime/prepare';
import { deviceSelfTestDigest } from '../../../src-main/core/sim/device-self-test';
import { buildTinyMobilenet } from '../../support/ir-builder';
import { readModelBytes, skipWithoutModels } from '../../support/models';
import { readTflite } from '../../../src-main/core/engine/tflite/reader';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tf-pkg-v2-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const store = new SigningKeyStore(dataDir);
const publicKey = store.keyPair().publicKey;
const target = findMcuProfile(loadMcuProfiles(), 'nrf52840');

/** A package of `source` with the patch plan `mode` chooses (the model after the int8 I/O convention). */
function patchedPackage(source: Model, mode: PatchMode) {
  const model = applyIoConvention(source, 'int8').model;
  const planned = planModel(model);
  const patch = choosePatch(planned.schedule, planned.plan.peakBytes, modelCost(model).macs, { mode });
  if (!patch) throw new Error('no patch plan');
  const bytes = writePackage(source, { modelId: 'm', modelVersion: '1', target, rounding: 'tflm', signer: store, planned, patch });
  return { bytes, model, planned, patch };
}

const bytesOf = (v: TensorView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** The package with its manifest edited and signed again with the same key (what a tampering signer could make). */
function resigned(bytes: Uint8Array, edit: (m: PackageManifest) => void): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const manifestLength = dv.getUint32(8, true);
  const bodyLength = dv.getUint32(12, true);
  const manifest = JSON.parse(Buffer.from(bytes.subarray(HEADER_BYTES, HEADER_BYTES + manifestLength)).toString('utf8')) as PackageManifest;
  edit(manifest);
  const text = new TextEncoder().encode(JSON.stringify(manifest));
  const body = bytes.subarray(HEADER_BYTES + manifestLength, HEADER_BYTES + manifestLength + bodyLength);
  const out = new Uint8Array(HEADER_BYTES + text.byteLength + bodyLength + SIGNATURE_BYTES);
  out.set(bytes.subarray(0, HEADER_BYTES));
  new DataView(out.buffer).setUint32(8, text.byteLength, true);
  new DataView(out.buffer).setUint16(4, manifest.formatVersion, true);
  out.set(text, HEADER_BYTES);
  out.set(body, HEADER_BYTES + text.byteLength);
  out.set(signEd25519(store.keyPair().privateKey, out.subarray(0, HEADER_BYTES + text.byteLength)), out.byteLength - SIGNATURE_BYTES);
  return out;
}

function rejection(bytes: Uint8Array): PackageError {
  try {
    readPackage(bytes, publicKey);
  } catch (err) {
    expect(err).toBeInstanceOf(PackageError);
    return err as PackageError;
  }
  throw new Error('package was accepted');
}

describe('model package format version 2 (patch plans)', () => {
  const source = buildTinyMobilenet(3, 48, true);
  const { bytes, model, planned, patch } = patchedPackage(source, { n: 2 });

  it('carries the patch stage and the plan it sized the arena for, and reads back ready to run', () => {
    expect(new DataView(bytes.buffer).getUint16(4, true)).toBe(2);
    const pkg = readPackage(bytes, publicKey);
    const { memoryPlan } = pkg.manifest;
    expect(pkg.manifest.formatVersion).toBe(2);
    expect(memoryPlan).toMatchObject({ kind: 'patch', arenaBytes: patch.plan.peakBytes, layerPeakBytes: planned.plan.peakBytes });
    expect(memoryPlan.arenaBytes).toBeLessThan(planned.plan.peakBytes);
    expect(memoryPlan.patch).toMatchObject({ split: patch.stage.split, n: 2, stageOutput: patch.stage.stageOutput, area: { bytes: patch.stage.patchPlan.peakBytes } });
    expect(memoryPlan.patch!.regions.every((r) => r.rows.length === 2 && r.cols.length === 2)).toBe(true);
    expect(pkg.patchPlan!.stage.split).toBe(patch.stage.split);
    expect([...pkg.patchPlan!.plan.tensorOffsets]).toEqual([...patch.plan.tensorOffsets]);
    // The residual block after the stage is written over, and the package says so step by step.
    const over = memoryPlan.steps.filter((s) => s.overwrites);
    expect(over.map((s) => s.kind)).toEqual(['CONV_2D', 'ADD']);
    const offsetOf = new Map(memoryPlan.tensorOffsets);
    const projection = planned.schedule.steps.find((s) => s.overwrites && s.kind === 'CONV_2D')!;
    expect(offsetOf.get(projection.outputs[0])).toBe(offsetOf.get(projection.inputs[0])! + over[0].overwrites!.shift);
    expect(over[0].overwrites!.shift).toBeLessThan(0);
    // The stage output starts before the stage input and reaches into the rows the patches read first.
    const [input] = memoryPlan.patch!.stageInputs;
    const outputAt = offsetOf.get(memoryPlan.patch!.stageOutput)!;
    expect(patch.plan.placement).toMatch(/\+overlap$/);
    expect(outputAt).toBeLessThan(offsetOf.get(input)!);
    expect(outputAt + patch.plan.blocks.find((b) => b.tie)!.bytes).toBeGreaterThan(offsetOf.get(input)!);
  });

  it('a package planned without the residual overwrite (written before it) still loads and runs bit-exact, on an arena no smaller', () => {
    const plain = planModel(model, 'tinyengine', { overwriteResidual: false });
    const plainPatch = choosePatch(plain.schedule, plain.plan.peakBytes, modelCost(model).macs, { mode: { n: 2 } })!;
    const older = writePackage(source, { modelId: 'm', modelVersion: '1', target, rounding: 'tflm', signer: store, planned: plain, patch: plainPatch });
    const pkg = readPackage(older, publicKey);
    expect(pkg.manifest.memoryPlan.steps.some((s) => s.overwrites)).toBe(false);
    expect(pkg.manifest.memoryPlan.arenaBytes).toBeGreaterThanOrEqual(patch.plan.peakBytes);
    const inputs = seededInputs(model, 5);
    expect(createPackageRunner(pkg).run(inputs).map(bytesOf)).toEqual(createInterpreter(model, { rounding: 'tflm' }).run(inputs).outputs.map(bytesOf));
  });

  it('runs patch by patch inside its arena, bit-exact with the per-layer interpreter, and passes its self-test', () => {
    const pkg = readPackage(bytes, publicKey);
    const runner = createPackageRunner(pkg);
    const reference = createInterpreter(model, { rounding: 'tflm' });
    for (const seed of [1, 2, 3]) {
      const inputs = seededInputs(model, seed);
      expect(runner.run(inputs).map(bytesOf)).toEqual(reference.run(inputs).outputs.map(bytesOf));
    }
    expect(deviceSelfTestDigest(bytes, publicKey, false)).toBe(pkg.manifest.selfTest!.outputSha256);
    expect(deviceSelfTestDigest(bytes, publicKey, true)).not.toBe(pkg.manifest.selfTest!.outputSha256);
  });

  it('the runner uses the package offsets: moving a buffer onto a live one corrupts the outputs (so the reader must refuse it)', () => {
    const pkg = readPackage(bytes, publicKey);
    const [t] = pkg.manifest.memoryPlan.patch!.buffers[0];
    const offsets = new Map(pkg.patchPlan!.stage.patchPlan.tensorOffsets);
    const other = pkg.manifest.memoryPlan.patch!.buffers.find(([u]) => u !== t)!;
    offsets.set(t, other[1]);
    const broken = { ...pkg, patchPlan: { ...pkg.patchPlan!, stage: { ...pkg.patchPlan!.stage, patchPlan: { ...pkg.patchPlan!.stage.patchPlan, tensorOffsets: offsets } } } };
    const inputs = seededInputs(model, 1);
    const good = createPackageRunner(pkg).run(inputs).map(bytesOf);
    expect(createPackageRunner(broken).run(inputs).map(bytesOf)).not.toEqual(good);
  });

  it('a package without a patch plan is format version 1 as before, and loads and runs on the interpreter', () => {
    const v1 = writePackage(source, { modelId: 'm', modelVersion: '1', target, rounding: 'tflm', signer: store });
    expect(new DataView(v1.buffer).getUint16(4, true)).toBe(1);
    const pkg = readPackage(v1, publicKey);
    expect(pkg.manifest.formatVersion).toBe(1);
    expect(pkg.manifest.memoryPlan).not.toHaveProperty('patch');
    expect(pkg.manifest.memoryPlan).not.toHaveProperty('kind');
    expect(pkg.manifest.memoryPlan.arenaBytes).toBe(planned.plan.peakBytes);
    expect(pkg.patchPlan).toBeUndefined();
    expect(deviceSelfTestDigest(v1, publicKey, false)).toBe(pkg.manifest.selfTest!.outputSha256);
    // The same model, both formats: the same self-test digest (the patch plan computes the same bytes).
    expect(readPackage(bytes, publicKey).manifest.selfTest!.outputSha256).toBe(pkg.manifest.selfTest!.outputSha256);
  });

  const patchOf = (m: PackageManifest) => m.memoryPlan.patch!;
  const tampered: [string, (m: PackageManifest) => void, RegExp][] = [
    ['a receptive field cut short', (m) => void (patchOf(m).regions[0].rows[1][0] += 1), /bad-schedule.*patch row 1 holds rows/],
    ['a split that is no stage cut', (m) => void (patchOf(m).split = m.memoryPlan.steps.length), /bad-schedule.*no patch stage of the graph ends after step/],
    ['a grid larger than the stage output', (m) => void (patchOf(m).n = 10_000), /bad-schedule.*grid does not fit/],
    ['a patch buffer over another live one', (m) => {
      const [a, b] = patchOf(m).buffers;
      a[1] = b[1];
    }, /bad-schedule.*patch buffers: .*overlaps/],
    ['a patch buffer smaller than the patch', (m) => void (patchOf(m).buffers[0][2] -= 4), /bad-schedule.*patch buffers: buffer of tensor \d+ is not the \d+ bytes/],
    ['a patch area smaller than its buffers', (m) => void (patchOf(m).area.bytes -= 4), /bad-schedule.*lies outside the arena|bad-schedule.*scratch of step 0/],
    ['a stage output placed over a live tensor', (m) => {
      // The whole byte-sharing group moves (the residual ADD after the stage may write over the stage output).
      const so = patchOf(m).stageOutput;
      const group = patch.plan.blocks.find((k) => k.tensors.includes(so))!.tensors;
      const at = (t: number) => m.memoryPlan.tensorOffsets.find(([u]) => u === t)!;
      const delta = at(m.memoryPlan.patch!.stageInputs[0])[1] - at(so)[1];
      for (const t of group) at(t)[1] += delta;
    }, /bad-schedule.*memory plan: .*overlaps/],
    ['a stage output reaching 4 bytes further into its input than the patches allow', (m) => {
      const so = patchOf(m).stageOutput;
      const group = patch.plan.blocks.find((k) => k.tensors.includes(so))!.tensors;
      for (const t of group) m.memoryPlan.tensorOffsets.find(([u]) => u === t)![1] += 4;
    }, new RegExp(`bad-schedule.*memory plan: tensor\\(s\\) ${patch.stage.stageInputs[0]} .*overlaps tensor\\(s\\) ${patch.plan.blocks.find((b) => b.tie)!.tensors.join(',')} `)],
    ['one tensor of a byte-sharing group moved apart from the rest', (m) => {
      const so = patchOf(m).stageOutput;
      m.memoryPlan.tensorOffsets.find(([t]) => t === so)![1] += 4;
    }, /bad-schedule.*memory plan: tensors [\d,]+ share bytes but are not placed as their byte sharing puts them/],
    ['a residual overwrite\'s shift changed', (m) => {
      const step = m.memoryPlan.steps.find((s) => s.overwrites && s.overwrites.shift < 0)!;
      step.overwrites!.shift -= 4;
    }, /bad-schedule.*memoryPlan.steps differ from the graph's schedule at step \d+/],
    ['in-place steps that are not the stage\'s', (m) => void patchOf(m).inPlace.push(0), /bad-schedule.*in-place steps/],
    ['a schedule step changed', (m) => void (m.memoryPlan.steps[0].inPlace = !m.memoryPlan.steps[0].inPlace), /bad-schedule.*memoryPlan.steps differ from the graph's schedule at step 0/],
    ['version 2 without its patch stage', (m) => void delete m.memoryPlan.patch, /malformed.*format version 2 needs/],
    ['a patch stage in a version 1 manifest', (m) => void (m.formatVersion = 1), /malformed.*format version 1 carries no patch plan/],
  ];
  it.each(tampered)('rejects %s by name, even when signed', (_, edit, message) => {
    expect(rejection(resigned(bytes, edit)).message).toMatch(message);
  });

  it('rejects an edited schedule not signed again as a bad signature', () => {
    const copy = bytes.slice();
    const text = Buffer.from(copy.subarray(HEADER_BYTES, HEADER_BYTES + new DataView(copy.buffer).getUint32(8, true))).toString('latin1');
    const at = text.indexOf('"split":');
    copy[HEADER_BYTES + at + 8] ^= 1;
    expect(rejection(copy).code).toBe('bad-signature');
  });
});

const skip = skipWithoutModels('model package v2 on published models');

describe.skipIf(skip)('format version 2 on published models', () => {
  it.each([['mcunet_vww1.tflite'], ['person_detect.tflite']])('%s: the auto patch plan packages as version 2 and runs bit-exact with the per-layer schedule', (name) => {
    const source = readTflite(readModelBytes(name), { name });
    const { bytes, model, planned } = patchedPackage(source, 'auto');
    const pkg = readPackage(bytes, publicKey);
    expect(pkg.manifest.memoryPlan.arenaBytes).toBeLessThan(planned.plan.peakBytes);
    const inputs = seededInputs(model, 7);
    expect(createPackageRunner(pkg).run(inputs).map(bytesOf)).toEqual(createInterpreter(model, { rounding: 'tflm' }).run(inputs).outputs.map(bytesOf));
    expect(deviceSelfTestDigest(bytes, publicKey, false)).toBe(pkg.manifest.selfTest!.outputSha256);
  }, 180_000);
});
