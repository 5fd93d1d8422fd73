import { createHash } from 'node:crypto';
import { Encoder } from 'cbor-x';
import { applyIoConvention, DEFAULT_IO_CONVENTION, type IoConvention, type IoTensor } from '../io-convention';
import type { Model } from '../ir';
import type { McuProfile } from '../../common/mcu-profile';
import type { PatchCandidate } from '../patch/search';
import { planModel, type MemoryPlan, type PlannedSchedule } from '../planner/plan';
import type { Schedule } from '../planner/schedule';
import type { RoundingMode } from '../runtime/requantize';
import {
  ENGINE_VERSION,
  HEADER_BYTES,
  PACKAGE_FORMAT_VERSION_PATCH,
  PACKAGE_FORMAT_VERSION_PER_LAYER,
  PACKAGE_MAGIC,
  RUNTIME_VERSION,
  SIGNATURE_BYTES,
  WEIGHT_ALIGNMENT,
  type PackageGraph,
  type PackageManifest,
  type PatchSchedule,
} from './format';
import { exportPublicKey } from './keys';
import { computeSelfTest } from './self-test';
import type { KeyObject } from 'node:crypto';

/** Signs the header + manifest bytes; SigningKeyStore provides one. */
export interface PackageSigner {
  sign(data: Uint8Array): Uint8Array;
  publicKey(): { sha256: string } | KeyObject;
}

export interface PackageOptions {
  modelId: string;
  modelVersion: string;
  target: McuProfile;
  rounding: RoundingMode;
  signer: PackageSigner;
  /**
   * Who quantizes at the model's edges (default `int8`: a leading QUANTIZE / trailing DEQUANTIZE is
   * left to the firmware and not packaged; the manifest gives it the scales and zero points).
   */
  io?: IoConvention;
  /** The plan to ship, of the model after the I/O convention (default: the TinyEngine per-layer plan). */
  planned?: PlannedSchedule;
  /**
   * A patch plan of `planned`'s schedule (patch/search.ts) to ship instead of the per-layer plan: the
   * package is then format version 2 and carries the patch stage (docs/model-package.md).
   */
  patch?: PatchCandidate;
  /**
   * Set when the caller builds for a target the model does not fit, on the user's explicit request:
   * the estimated needs go into the manifest (`target.misfit`) so the package says so.
   */
  misfit?: { sramNeededBytes: number; flashNeededBytes: number };
  /** Creation time (default: now). */
  createdAt?: Date;
  /** Seed of the self-test input (default: the first 32 bits of the body's SHA-256). */
  selfTestSeed?: number;
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** The body: graph (CBOR) and the aligned weights blob. */
function encodeBody(model: Model): { body: Uint8Array; graphBytes: number; weightsOffset: number; weightsBytes: number } {
  const weights: Uint8Array[] = [];
  let at = 0;
  const tensors: PackageGraph['tensors'] = model.tensors.map((t) => {
    const entry: PackageGraph['tensors'][number] = { id: t.id, name: t.name, dtype: t.dtype, shape: [...t.shape] };
    if (t.quant) entry.quant = { scale: [...t.quant.scale], zeroPoint: [...t.quant.zeroPoint], axis: t.quant.axis };
    if (t.data) {
      entry.data = { offset: at, bytes: t.data.byteLength };
      weights.push(t.data);
      at = align(at + t.data.byteLength, WEIGHT_ALIGNMENT);
    }
    if (t.isVariable) entry.isVariable = true;
    return entry;
  });
  const graph: PackageGraph = {
    name: model.name,
    ...(model.description !== undefined ? { description: model.description } : {}),
    tensors,
    ops: model.ops.map((o) => ({ index: o.index, kind: o.kind, inputs: [...o.inputs], outputs: [...o.outputs], options: { ...o.options } })),
    inputs: [...model.inputs],
    outputs: [...model.outputs],
  };
  const cbor = new Encoder({ useRecords: false, mapsAsObjects: true }).encode(graph);
  const weightsOffset = align(4 + cbor.byteLength, WEIGHT_ALIGNMENT);
  const body = new Uint8Array(weightsOffset + at);
  new DataView(body.buffer).setUint32(0, cbor.byteLength, true);
  body.set(cbor, 4);
  let w = weightsOffset;
  for (const d of weights) {
    body.set(d, w);
    w = weightsOffset + align(w - weightsOffset + d.byteLength, WEIGHT_ALIGNMENT);
  }
  return { body, graphBytes: cbor.byteLength, weightsOffset, weightsBytes: at };
}

/** The patch stage as a version-2 manifest carries it. */
function patchSchedule(schedule: Schedule, candidate: PatchCandidate): PatchSchedule {
  const { stage, plan } = candidate;
  const area = plan.scratchOffsets.get(0);
  if (area === undefined) throw new Error('the patch plan has no patch area (scratch of its stage step)');
  // Patch (i, j) holds row strip i's rows and column strip j's columns of every tensor (gridPatches).
  const regions = [...stage.patches[0].regions.keys()].sort((a, b) => a - b).map((tensor) => ({
    tensor,
    rows: Array.from({ length: stage.n }, (_, i) => stage.patches[i * stage.n].regions.get(tensor)!).map((r) => [r.h0, r.h1] as [number, number]),
    cols: Array.from({ length: stage.n }, (_, j) => stage.patches[j].regions.get(tensor)!).map((r) => [r.w0, r.w1] as [number, number]),
  }));
  const patchPlan = stage.patchPlan;
  return {
    split: stage.split,
    n: stage.n,
    lastStageOp: schedule.steps[stage.split - 1].opIndex,
    stageOps: [...stage.stageOps],
    stageInputs: [...stage.stageInputs],
    stageOutput: stage.stageOutput,
    layouts: [...stage.layouts].sort((a, b) => a[0] - b[0]),
    regions,
    area: { offset: area, bytes: patchPlan.peakBytes },
    buffers: patchPlan.blocks.filter((b) => b.kind === 'tensor').flatMap((b) => b.tensors.map((t) => [t, patchPlan.tensorOffsets.get(t)!, b.bytes] as [number, number, number])).sort((a, b) => a[0] - b[0]),
    scratch: scratchOf(patchPlan),
    inPlace: [...stage.inPlace].sort((a, b) => a - b),
    extraMacs: candidate.extraMacs,
    macOverhead: candidate.macOverhead,
  };
}

/** [step, offset, bytes] of every scratch block of a plan. */
function scratchOf(plan: MemoryPlan): [number, number, number][] {
  return plan.blocks.filter((b) => b.kind === 'scratch').map((b) => [b.step!, b.offset, b.bytes] as [number, number, number]);
}

function signerFingerprint(signer: PackageSigner): string {
  const pk = signer.publicKey();
  return 'sha256' in pk ? pk.sha256 : exportPublicKey(pk).sha256;
}

/**
 * Builds a signed package: header, manifest (versions, target, memory plan, rounding, body hash),
 * body (graph + weights) and an Ed25519 signature over header + manifest.
 */
export function writePackage(source: Model, options: PackageOptions): Uint8Array {
  const io = applyIoConvention(source, options.io ?? DEFAULT_IO_CONVENTION);
  const model = io.model;
  const planned = options.planned ?? planModel(model, 'tinyengine');
  const { schedule } = planned;
  const plan = options.patch ? options.patch.plan : planned.plan;
  const formatVersion = options.patch ? PACKAGE_FORMAT_VERSION_PATCH : PACKAGE_FORMAT_VERSION_PER_LAYER;
  const edge = (t: IoTensor) => ({ tensor: t.tensor, dtype: t.dtype, shape: t.shape, ...(t.scale !== undefined ? { scale: t.scale, zeroPoint: t.zeroPoint } : {}) });
  const { body, graphBytes, weightsOffset, weightsBytes } = encodeBody(model);
  const bodySha256 = createHash('sha256').update(body).digest('hex');
  const manifest: PackageManifest = {
    format: 'tinyfleet-model-package',
    formatVersion,
    model: { id: options.modelId, version: options.modelVersion, name: model.name },
    engine: { version: ENGINE_VERSION },
    runtime: { version: RUNTIME_VERSION, rounding: options.rounding },
    target: {
      mcu: options.target.id,
      name: options.target.name,
      core: options.target.core,
      sramBytes: options.target.sramBytes,
      flashBytes: options.target.flashBytes,
      ...(options.misfit ? { misfit: { sramNeededBytes: options.misfit.sramNeededBytes, flashNeededBytes: options.misfit.flashNeededBytes } } : {}),
    },
    memoryPlan: {
      arenaBytes: plan.peakBytes,
      activationArenaBytes: plan.activationArenaBytes,
      scratchBytes: plan.scratchBytes,
      lowerBoundBytes: plan.lowerBoundBytes,
      tensorOffsets: [...plan.tensorOffsets].sort((a, b) => a[0] - b[0]),
      scratch: scratchOf(plan),
      steps: schedule.steps.map((s) => ({ opIndex: s.opIndex, kind: s.kind, inPlace: s.inPlace, alias: s.alias, ...(s.fusedPad !== undefined ? { fusedPad: s.fusedPad } : {}), ...(s.overwrites ? { overwrites: { ...s.overwrites } } : {}) })),
      ...(options.patch ? { kind: 'patch' as const, layerPeakBytes: planned.plan.peakBytes, patch: patchSchedule(schedule, options.patch) } : {}),
    },
    io: { convention: io.convention, inputs: io.inputs.map(edge), outputs: io.outputs.map(edge) },
    body: { bytes: body.byteLength, sha256: bodySha256, graphBytes, weightsOffset, weightsBytes },
    selfTest: computeSelfTest(model, options.rounding, options.selfTestSeed ?? Number.parseInt(bodySha256.slice(0, 8), 16)),
    signer: { algorithm: 'ed25519', publicKeySha256: signerFingerprint(options.signer) },
    createdAt: (options.createdAt ?? new Date()).toISOString(),
  };
  const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest));
  const total = HEADER_BYTES + manifestBytes.byteLength + body.byteLength + SIGNATURE_BYTES;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set(new TextEncoder().encode(PACKAGE_MAGIC), 0);
  dv.setUint16(4, formatVersion, true);
  dv.setUint16(6, HEADER_BYTES, true);
  dv.setUint32(8, manifestBytes.byteLength, true);
  dv.setUint32(12, body.byteLength, true);
  dv.setUint32(16, SIGNATURE_BYTES, true);
  out.set(manifestBytes, HEADER_BYTES);
  out.set(body, HEADER_BYTES + manifestBytes.byteLength);
  const signature = options.signer.sign(out.subarray(0, HEADER_BYTES + manifestBytes.byteLength));
  if (signature.byteLength !== SIGNATURE_BYTES) throw new Error(`signer returned ${signature.byteLength} bytes, expected ${SIGNATURE_BYTES}`);
  out.set(signature, total - SIGNATURE_BYTES);
  return out;
}
