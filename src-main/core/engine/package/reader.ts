import { createHash, type KeyObject } from 'node:crypto';
import { Decoder } from 'cbor-x';
import { DTYPE_BYTES, elementCount, type Model, type Op, type Tensor } from '../ir';
import { SUPPORTED_OPS } from '../tflite/schema';
import { validateModel } from '../tflite/validate';
import {
  GraphSchema,
  HEADER_BYTES,
  MAX_MANIFEST_BYTES,
  MAX_PACKAGE_BYTES,
  ManifestSchema,
  PACKAGE_FORMAT_VERSION_PATCH,
  PACKAGE_MAGIC,
  PackageError,
  SIGNATURE_BYTES,
  SUPPORTED_FORMAT_VERSIONS,
  type PackageManifest,
} from './format';
import { exportPublicKey, verifyEd25519 } from './keys';
import { loadPatchPlan, type PackagePatchPlan } from './package-plan';

/** A verified package. */
export interface VerifiedPackage {
  manifest: PackageManifest;
  /** The model as IR, ready for the TS runtime. */
  model: Model;
  /** SHA-256 of the whole file, hex. */
  sha256: string;
  /** Format version 2: the patch plan the arena is sized for, checked against the model (absent: per layer). */
  patchPlan?: PackagePatchPlan;
}

interface Sections {
  version: number;
  manifestBytes: Uint8Array;
  body: Uint8Array;
  signed: Uint8Array;
  signature: Uint8Array;
}

/** Checks the header and splits the file into its sections; nothing is trusted yet. */
function split(bytes: Uint8Array): Sections {
  if (bytes.byteLength < HEADER_BYTES) throw new PackageError('truncated', `${bytes.byteLength} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== PACKAGE_MAGIC) throw new PackageError('bad-magic', `starts with ${JSON.stringify(magic)}, expected "${PACKAGE_MAGIC}"`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(4, true);
  if (!SUPPORTED_FORMAT_VERSIONS.includes(version)) throw new PackageError('unsupported-version', `format version ${version}, this reader supports ${SUPPORTED_FORMAT_VERSIONS.join(' and ')}`);
  const headerBytes = dv.getUint16(6, true);
  const manifestLength = dv.getUint32(8, true);
  const bodyLength = dv.getUint32(12, true);
  const signatureLength = dv.getUint32(16, true);
  if (headerBytes !== HEADER_BYTES) throw new PackageError('malformed', `header size ${headerBytes}, expected ${HEADER_BYTES}`);
  if (signatureLength !== SIGNATURE_BYTES) throw new PackageError('malformed', `signature length ${signatureLength}, expected ${SIGNATURE_BYTES}`);
  if (bytes.subarray(20, HEADER_BYTES).some((b) => b !== 0)) throw new PackageError('malformed', 'reserved header bytes are not zero');
  if (manifestLength > MAX_MANIFEST_BYTES) throw new PackageError('malformed', `manifest of ${manifestLength} bytes is too large`);
  const expected = HEADER_BYTES + manifestLength + bodyLength + signatureLength;
  if (expected > MAX_PACKAGE_BYTES) throw new PackageError('malformed', `declared size ${expected} bytes is too large`);
  if (bytes.byteLength < expected) throw new PackageError('truncated', `header declares ${expected} bytes, the file has ${bytes.byteLength}`);
  if (bytes.byteLength > expected) throw new PackageError('malformed', `${bytes.byteLength - expected} unexpected bytes after the signature`);
  const signedEnd = HEADER_BYTES + manifestLength;
  return {
    version,
    manifestBytes: bytes.subarray(HEADER_BYTES, signedEnd),
    body: bytes.subarray(signedEnd, signedEnd + bodyLength),
    signed: bytes.subarray(0, signedEnd),
    signature: bytes.subarray(expected - signatureLength, expected),
  };
}

function parseManifest(bytes: Uint8Array, headerVersion: number): PackageManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new PackageError('malformed', `manifest is not UTF-8 JSON: ${(err as Error).message}`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) throw new PackageError('malformed', `manifest: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const m = parsed.data;
  if (m.formatVersion !== headerVersion) throw new PackageError('malformed', `manifest says format version ${m.formatVersion}, the header ${headerVersion}`);
  // Version 2 is the package with a patch plan; version 1 has none of its fields.
  const patched = m.formatVersion === PACKAGE_FORMAT_VERSION_PATCH;
  const { kind, layerPeakBytes, patch } = m.memoryPlan;
  if (patched && (kind !== 'patch' || !patch || layerPeakBytes === undefined)) throw new PackageError('malformed', 'format version 2 needs memoryPlan.kind "patch", memoryPlan.patch and memoryPlan.layerPeakBytes');
  if (!patched && (kind !== undefined || patch !== undefined || layerPeakBytes !== undefined)) throw new PackageError('malformed', 'format version 1 carries no patch plan (memoryPlan.kind, patch, layerPeakBytes)');
  return m;
}

/** Turns the verified body back into the IR, checking every reference. */
function decodeModel(manifest: PackageManifest, body: Uint8Array): Model {
  const { graphBytes, weightsOffset, weightsBytes } = manifest.body;
  if (body.byteLength < 4 || new DataView(body.buffer, body.byteOffset).getUint32(0, true) !== graphBytes) {
    throw new PackageError('malformed', 'graph length in the body does not match the manifest');
  }
  if (4 + graphBytes > weightsOffset || weightsOffset + weightsBytes !== body.byteLength) throw new PackageError('malformed', 'body sections do not add up');
  let raw: unknown;
  try {
    raw = new Decoder({ useRecords: false, mapsAsObjects: true }).decode(body.subarray(4, 4 + graphBytes));
  } catch (err) {
    throw new PackageError('malformed', `graph is not valid CBOR: ${(err as Error).message}`);
  }
  const parsed = GraphSchema.safeParse(raw);
  if (!parsed.success) throw new PackageError('malformed', `graph: ${parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const g = parsed.data;
  const weights = body.subarray(weightsOffset);
  const tensors: Tensor[] = g.tensors.map((t, i) => {
    if (t.id !== i) throw new PackageError('malformed', `tensor ${i} has id ${t.id}`);
    const tensor: Tensor = { id: t.id, name: t.name, dtype: t.dtype, shape: t.shape };
    if (t.quant) tensor.quant = t.quant;
    if (t.isVariable) tensor.isVariable = true;
    if (t.data) {
      if (t.data.offset + t.data.bytes > weights.byteLength) throw new PackageError('malformed', `tensor ${i} data lies outside the weights blob`);
      if (t.data.bytes !== elementCount(t.shape) * DTYPE_BYTES[t.dtype]) throw new PackageError('malformed', `tensor ${i} data has ${t.data.bytes} bytes for shape [${t.shape}]`);
      tensor.data = weights.slice(t.data.offset, t.data.offset + t.data.bytes);
    }
    return tensor;
  });
  const ops = g.ops.map((o, i) => {
    // Node indices are the TFLite file's: increasing, with gaps where the I/O convention left a
    // QUANTIZE/DEQUANTIZE to the firmware.
    if (i > 0 && o.index <= g.ops[i - 1].index) throw new PackageError('malformed', `op ${i} has index ${o.index}, not above op ${i - 1}'s ${g.ops[i - 1].index}`);
    if (!SUPPORTED_OPS.has(o.kind)) throw new PackageError('malformed', `op ${i} has unsupported kind ${o.kind}`);
    for (const t of [...o.inputs, ...o.outputs]) if (t < -1 || t >= tensors.length) throw new PackageError('malformed', `op ${i} refers to tensor ${t}`);
    return { index: o.index, kind: o.kind, inputs: o.inputs, outputs: o.outputs, options: o.options } as Op;
  });
  for (const t of [...g.inputs, ...g.outputs]) if (t >= tensors.length) throw new PackageError('malformed', `graph input/output ${t} does not exist`);
  const model: Model = { name: g.name, tensors, ops, inputs: g.inputs, outputs: g.outputs };
  if (g.description !== undefined) model.description = g.description;
  try {
    validateModel(model, tensors.map((t) => t.dtype.toUpperCase()), () => {});
  } catch (err) {
    throw new PackageError('malformed', `graph: ${(err as Error).message}`);
  }
  for (const [t] of manifest.memoryPlan.tensorOffsets) if (t >= tensors.length) throw new PackageError('malformed', `memory plan places tensor ${t}, which does not exist`);
  return model;
}

/**
 * Verifies a package and loads its model: header and sizes, the Ed25519 signature over header +
 * manifest with `publicKey`, the manifest schema, the body's SHA-256, the graph, then (version 2)
 * the patch schedule against the graph (package-plan.ts). Throws a
 * PackageError naming the first problem; nothing from the body is parsed before it is authenticated.
 */
export function readPackage(bytes: Uint8Array, publicKey: KeyObject): VerifiedPackage {
  const s = split(bytes);
  if (!verifyEd25519(publicKey, s.signed, s.signature)) {
    // Say whether it is the wrong key or a modified package, when the manifest is readable.
    let signer: string | undefined;
    try {
      signer = parseManifest(s.manifestBytes, s.version).signer.publicKeySha256;
    } catch {
      signer = undefined;
    }
    const expected = exportPublicKey(publicKey).sha256;
    if (signer && signer !== expected) throw new PackageError('wrong-key', `signed by key ${signer.slice(0, 16)}..., verifying with key ${expected.slice(0, 16)}...`);
    throw new PackageError('bad-signature', 'the Ed25519 signature over header and manifest does not verify (modified or corrupted)');
  }
  const manifest = parseManifest(s.manifestBytes, s.version);
  if (manifest.body.bytes !== s.body.byteLength) throw new PackageError('malformed', `manifest says the body has ${manifest.body.bytes} bytes, header says ${s.body.byteLength}`);
  const digest = createHash('sha256').update(s.body).digest('hex');
  if (digest !== manifest.body.sha256) throw new PackageError('hash-mismatch', `body SHA-256 ${digest.slice(0, 16)}... does not match the signed ${manifest.body.sha256.slice(0, 16)}... (weights or graph modified)`);
  const model = decodeModel(manifest, s.body);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return manifest.memoryPlan.patch ? { manifest, model, sha256, patchPlan: loadPatchPlan(manifest, model) } : { manifest, model, sha256 };
}
