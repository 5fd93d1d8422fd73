import { describe, expect, it } from 'vitest';
import { elementCount } from '../../../src-main/core/engine/ir';
import {
  applyDelta,
  decodeDelta,
  DeltaError,
  deltaTargets,
  encodeDelta,
  extractDelta,
  MAX_DELTA_BYTES,
  schemeCoverage,
  targetValues,
  validateDelta,
  type DeltaExpectation,
  type SparseDelta,
} from '../../../src-main/core/rounds';
import { analyseGraph, cloneModel, type SparseScheme } from '../../../src-main/core/train';
import { ROUND, roundFixture } from './fixtures';

const rf = roundFixture();
const graph = analyseGraph(rf.base);
const { trained, delta } = rf.device(3);
const bytes = encodeDelta(delta);
const expectation = { baseSha256: rf.baseSha256, round: ROUND, scheme: rf.scheme };

/** A deep copy of a delta to break one thing in. */
function copy(d: SparseDelta): SparseDelta {
  return { ...d, round: { ...d.round }, metrics: { ...d.metrics }, tensors: d.tensors.map((t) => ({ ...t, indices: t.indices.slice(), values: t.values.slice() })) };
}

describe('sparse delta of a local sparse update', () => {
  it('holds exactly the covered tensors and the entries the update changed', () => {
    const coverage = schemeCoverage(graph, rf.scheme);
    expect(delta.tensors.map((t) => t.tensor)).toEqual([...coverage.keys()].sort((a, b) => a - b));
    const targets = deltaTargets(graph);
    let changed = 0;
    for (const t of delta.tensors) {
      const target = targets.get(t.tensor)!;
      expect(t.channels).toBe(coverage.get(t.tensor));
      expect(t.dtype).toBe(target.dtype);
      for (let n = 0; n < t.indices.length; n++) {
        expect(t.indices[n] % target.lastAxis).toBeLessThan(t.channels);
        expect(t.values[n]).not.toBe(targetValues(rf.base, target)[t.indices[n]]);
        expect(t.values[n]).toBe(targetValues(trained, target)[t.indices[n]]);
      }
      changed += t.indices.length;
    }
    // A real update changes entries, and a weight tensor covered by a 1/4 ratio leaves 3/4 alone.
    expect(changed).toBeGreaterThan(50);
    expect(delta.metrics.samples).toBe(43);
    expect(delta.metrics.accuracyBefore).toBeGreaterThan(0);
  });

  it('applied to the base reproduces the trained model, every constant byte of it', () => {
    const applied = applyDelta(rf.base, delta);
    applied.tensors.forEach((t, i) => {
      expect(t.data === undefined).toBe(trained.tensors[i].data === undefined);
      if (t.data) expect(Buffer.from(t.data).equals(Buffer.from(trained.tensors[i].data!))).toBe(true);
    });
    // Some of those bytes differ from the base's.
    expect(applied.tensors.some((t, i) => t.data && !Buffer.from(t.data).equals(Buffer.from(rf.base.tensors[i].data!)))).toBe(true);
    // The base is left as it was.
    expect(applied.tensors[delta.tensors[0].tensor].data).not.toBe(rf.base.tensors[delta.tensors[0].tensor].data);
    expect(extractDelta(rf.base, rf.base, { scheme: rf.scheme, baseSha256: rf.baseSha256, round: ROUND, metrics: delta.metrics }).tensors.every((t) => t.indices.length === 0)).toBe(true);
  });

  it('round-trips through its binary format and stays far smaller than the dense update', () => {
    const decoded = decodeDelta(bytes);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.value).toEqual(delta);
    expect(encodeDelta(decoded.value)).toEqual(bytes);
    // A dense FedAvg update sends every parameter as float32.
    const dense = 4 * graph.layers.reduce((a, l) => a + elementCount(rf.base.tensors[l.weight].shape) + elementCount(rf.base.tensors[l.bias].shape), 0);
    const entries = delta.tensors.reduce((a, t) => a + t.indices.length, 0);
    // Header + sections: about 2 bytes per changed int8 weight (index gap + value).
    expect(bytes.byteLength).toBeLessThan(110 + 8 * delta.tensors.length + entries * 5);
    expect(bytes.byteLength).toBeLessThan(dense / 2);
  });

  it('passes validation against its base, round and scheme', () => {
    expect(validateDelta(delta, rf.base, expectation)).toEqual({ ok: true });
  });

  it('refuses to extract changes the scheme does not cover', () => {
    const tampered = cloneModel(trained);
    const coverage = schemeCoverage(graph, rf.scheme);
    const frozen = [...deltaTargets(graph).values()].find((t) => !coverage.has(t.tensor))!;
    targetValues(tampered, frozen)[0] += 1;
    expect(() => extractDelta(rf.base, tampered, { scheme: rf.scheme, baseSha256: rf.baseSha256, round: ROUND, metrics: delta.metrics })).toThrow(/not update/);
  });
});

describe('decoding untrusted delta bytes', () => {
  it('never throws on truncations, byte flips or noise, and names the problem', () => {
    for (let n = 0; n < bytes.byteLength; n += Math.max(1, Math.floor(bytes.byteLength / 300))) {
      const r = decodeDelta(bytes.subarray(0, n));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(['TRUNCATED', 'BAD_MAGIC', 'MALFORMED']).toContain(r.error.code);
    }
    let seed = 11;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let k = 0; k < 300; k++) {
      const flipped = bytes.slice();
      flipped[Math.floor(rand() * flipped.length)] ^= 1 + Math.floor(rand() * 255);
      const r = decodeDelta(flipped);
      if (r.ok) expect(() => validateDelta(r.value, rf.base, expectation)).not.toThrow();
      const noise = Uint8Array.from({ length: 200 }, () => Math.floor(rand() * 256));
      noise.set([0x54, 0x46, 0x44, 0x4c, 1, 0]);
      expect(() => decodeDelta(noise)).not.toThrow();
    }
  });

  it('names a wrong magic, another format version, unknown flags and trailing bytes', () => {
    const code = (b: Uint8Array) => {
      const r = decodeDelta(b);
      return r.ok ? 'ok' : r.error.code;
    };
    const with_ = (at: number, v: number) => {
      const b = bytes.slice();
      b[at] = v;
      return b;
    };
    expect(code(with_(0, 0x58))).toBe('BAD_MAGIC');
    expect(code(with_(4, 2))).toBe('UNSUPPORTED_FORMAT');
    expect(code(with_(5, 1))).toBe('MALFORMED');
    expect(code(new Uint8Array([...bytes, 0]))).toBe('MALFORMED');
    expect(code(new Uint8Array(MAX_DELTA_BYTES + 1))).toBe('TOO_LARGE');
    expect(code(new Uint8Array(0))).toBe('BAD_MAGIC');
  });

  it('refuses an entry count the bytes cannot hold before allocating for it', () => {
    const head = Buffer.from(bytes.subarray(0, 4 + 2 + 32 + 1 + ROUND.job.length + 20));
    // one tensor: id 5, int8, 1 channel, 2^32 - 1 entries
    const b = new Uint8Array([...head, 1, 5, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    const r = decodeDelta(b);
    expect(r).toMatchObject({ ok: false, error: { code: 'TRUNCATED' } });
    const overlong = new Uint8Array([...head, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
    expect(decodeDelta(overlong)).toMatchObject({ ok: false, error: { code: 'MALFORMED', message: expect.stringMatching(/varint/) } });
  });

  it('makes repeated and descending indices unrepresentable and refuses unsorted tensor sections', () => {
    const d = copy(delta);
    d.tensors.reverse();
    expect(() => encodeDelta(d)).toThrow(/ascending/);
    const one = { ...delta, tensors: [{ ...delta.tensors[0], indices: Uint32Array.from([4, 4]), values: Int32Array.from([1, 2]) }] };
    expect(() => encodeDelta(one)).toThrow(/strictly increasing/);
  });
});

describe('validating an upload', () => {
  // The partly covered weight tensor with the most covered channels.
  const partial = delta.tensors.filter((t) => t.dtype === 'int8' && t.channels < deltaTargets(graph).get(t.tensor)!.lastAxis);
  const weightSection = delta.tensors.indexOf(partial.sort((a, b) => b.channels - a.channels)[0]);
  const biasSection = delta.tensors.findIndex((t) => t.dtype === 'int32');
  const rejection = (mutate: (d: SparseDelta) => void, expect_: DeltaExpectation = expectation) => {
    const d = copy(delta);
    mutate(d);
    const r = validateDelta(d, rf.base, expect_);
    return r.ok ? 'ok' : r.error.code;
  };

  it('names each kind of bad upload', () => {
    expect(weightSection).toBeGreaterThanOrEqual(0);
    expect(rejection((d) => (d.baseSha256 = 'f'.repeat(64)))).toBe('BASE_MISMATCH');
    expect(rejection((d) => (d.round = { job: 'job-1', round: 1 }))).toBe('WRONG_ROUND');
    expect(rejection((d) => (d.round = { job: 'other', round: 0 }))).toBe('WRONG_ROUND');
    expect(rejection((d) => (d.metrics.samples = 0))).toBe('BAD_METRICS');
    expect(rejection((d) => (d.metrics.loss = Number.NaN))).toBe('BAD_METRICS');
    expect(rejection((d) => (d.metrics.accuracyAfter = 1.5))).toBe('BAD_METRICS');
    expect(rejection((d) => d.tensors.push({ tensor: 100_000, dtype: 'int8', channels: 1, indices: new Uint32Array(0), values: new Int32Array(0) }))).toBe('UNKNOWN_TENSOR');
    expect(rejection((d) => (d.tensors = [{ tensor: rf.base.inputs[0], dtype: 'int8', channels: 1, indices: new Uint32Array(0), values: new Int32Array(0) }]))).toBe('NOT_TRAINABLE');
    const dw = graph.layers.find((l) => l.kind === 'DEPTHWISE_CONV_2D')!;
    expect(rejection((d) => (d.tensors = [{ tensor: dw.weight, dtype: 'int8', channels: 1, indices: new Uint32Array(0), values: new Int32Array(0) }]), {})).toBe('NOT_TRAINABLE');
    expect(rejection((d) => (d.tensors[biasSection].dtype = 'int8'))).toBe('DTYPE_MISMATCH');
    expect(rejection((d) => (d.tensors[biasSection].channels -= 1))).toBe('BAD_COVERAGE');
    expect(rejection((d) => (d.tensors[weightSection].channels = 10_000))).toBe('BAD_COVERAGE');
    expect(rejection((d) => (d.tensors[weightSection].indices[d.tensors[weightSection].indices.length - 1] = 1e9))).toBe('INDEX_OUT_OF_RANGE');
    expect(rejection((d) => (d.tensors[weightSection].values[0] = -128))).toBe('VALUE_OUT_OF_RANGE');
    expect(rejection((d) => (d.tensors[weightSection].values[0] = 300))).toBe('VALUE_OUT_OF_RANGE');
    expect(rejection((d) => (d.tensors[weightSection].indices = d.tensors[weightSection].indices.slice().reverse()))).toBe('MALFORMED');
    expect(rejection((d) => (d.tensors[weightSection].values = d.tensors[weightSection].values.subarray(1)))).toBe('MALFORMED');
  });

  it('checks coverage against the section and against the round scheme', () => {
    const section = delta.tensors[weightSection];
    const lastAxis = deltaTargets(graph).get(section.tensor)!.lastAxis;
    // An entry of a channel beyond the covered ones.
    expect(rejection((d) => (d.tensors[weightSection] = { ...section, indices: Uint32Array.from([section.channels]), values: Int32Array.from([1]) }))).toBe('OUTSIDE_COVERAGE');
    // Covering more channels than the scheme gives this device's class.
    expect(rejection((d) => (d.tensors[weightSection] = { ...section, channels: lastAxis }))).toBe('NOT_IN_SCHEME');
    // The same delta is fine with no scheme to hold it to, where coverage only has to fit the tensor.
    expect(rejection((d) => (d.tensors[weightSection] = { ...section, channels: lastAxis }), { ...expectation, scheme: undefined })).toBe('ok');
    // A bias-only scheme does not let the device touch weights; a bigger scheme wants what is missing.
    const biasOnly: SparseScheme = { biasLastN: 2, weights: [], classifier: false };
    expect(rejection(() => {}, { ...expectation, scheme: biasOnly })).toBe('NOT_IN_SCHEME');
    const moreBias: SparseScheme = { ...rf.scheme, biasLastN: graph.layers.length };
    expect(rejection(() => {}, { ...expectation, scheme: moreBias })).toBe('SCHEME_MISMATCH');
    expect(rejection((d) => (d.tensors[weightSection] = { ...section, channels: section.channels - 1, indices: new Uint32Array(0), values: new Int32Array(0) }))).toBe('SCHEME_MISMATCH');
  });

  it('makes applyDelta throw a DeltaError with the same code', () => {
    const d = copy(delta);
    d.tensors[weightSection].values[0] = -128;
    expect(() => applyDelta(rf.base, d)).toThrow(DeltaError);
    try {
      applyDelta(rf.base, d);
    } catch (err) {
      expect((err as DeltaError).code).toBe('VALUE_OUT_OF_RANGE');
    }
  });
});
