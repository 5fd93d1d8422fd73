import { describe, expect, it } from 'vitest';
import type { Model } from '../../../src-main/core/engine/ir';
import {
  aggregateContributions,
  applyDelta,
  decodeDelta,
  deltaTargets,
  encodeDelta,
  fedAvg,
  Q16_ONE,
  roundHalfAwayFromZero,
  StalenessBuffer,
  stalenessFactorQ16,
  targetValues,
  type DeltaTarget,
  type DeltaTensor,
  type SparseDelta,
} from '../../../src-main/core/rounds';
import { analyseGraph } from '../../../src-main/core/train';
import { Rng } from '../../../src-main/core/train/data/rng';
import { modelSha256, ROUND, roundFixture } from './fixtures';

const rf = roundFixture();
const targets = [...deltaTargets(analyseGraph(rf.base)).values()].sort((a, b) => a.tensor - b.tensor);
const range = (t: DeltaTarget): [number, number] => (t.dtype === 'int8' ? [-127, 127] : [-2147483648, 2147483647]);

/** A random upload from `base`: random coverage per tensor, random changed entries, values reaching the dtype's ends. */
function randomDelta(rng: Rng, base: Model, samples: number, round = ROUND, baseSha256 = rf.baseSha256): SparseDelta {
  const tensors: DeltaTensor[] = [];
  for (const t of targets) {
    if (rng.next() < 0.35) continue;
    const channels = t.role === 'bias' ? t.lastAxis : 1 + rng.int(t.lastAxis);
    const b = targetValues(base, t);
    const [lo, hi] = range(t);
    const indices: number[] = [];
    const values: number[] = [];
    for (let i = 0; i < t.length; i++) {
      if (i % t.lastAxis >= channels || rng.next() < 0.5) continue;
      const r = rng.next();
      const v =
        r < 0.1 ? hi : r < 0.2 ? lo : t.dtype === 'int8' ? Math.max(lo, Math.min(hi, b[i] + rng.int(7) - 3)) : Math.max(lo, Math.min(hi, b[i] + rng.int(4001) - 2000));
      if (v === b[i]) continue;
      indices.push(i);
      values.push(v);
    }
    tensors.push({ tensor: t.tensor, dtype: t.dtype, channels, indices: Uint32Array.from(indices), values: Int32Array.from(values) });
  }
  return { baseSha256, round, metrics: { samples, loss: 0.5, accuracyBefore: 0.5, accuracyAfter: 0.6 }, tensors };
}

/** The same formula in float64, rounded once: what the integer arithmetic must reproduce. */
function floatReference(current: Model, contributions: { base: Model; delta: SparseDelta; weight: number }[], step = 1): Map<number, Float64Array> {
  const out = new Map<number, Float64Array>();
  for (const t of targets) {
    const cur = targetValues(current, t);
    const next = Float64Array.from(cur);
    const [lo, hi] = range(t);
    for (let i = 0; i < t.length; i++) {
      let num = 0;
      let den = 0;
      for (const c of contributions) {
        const section = c.delta.tensors.find((s) => s.tensor === t.tensor);
        if (!section || i % t.lastAxis >= section.channels) continue;
        const b = targetValues(c.base, t)[i];
        const at = section.indices.indexOf(i);
        const v = at >= 0 ? section.values[at] : b;
        num += c.weight * (v - b);
        den += c.weight;
      }
      if (den === 0) continue;
      const x = (step * num) / den;
      next[i] = Math.max(lo, Math.min(hi, cur[i] + Math.sign(x) * Math.floor(Math.abs(x) + 0.5)));
    }
    out.set(t.tensor, next);
  }
  return out;
}

function expectMatchesReference(model: Model, reference: Map<number, Float64Array>): void {
  for (const t of targets) expect(Array.from(targetValues(model, t))).toEqual(Array.from(reference.get(t.tensor)!));
}

describe('rounding', () => {
  it('rounds half away from zero, exactly, at any size', () => {
    const r = (p: number, q: number) => Number(roundHalfAwayFromZero(BigInt(p), BigInt(q)));
    expect([r(1, 2), r(-1, 2), r(3, 2), r(-3, 2), r(5, 4), r(-5, 4), r(7, 4), r(0, 9), r(49, 100), r(-51, 100)]).toEqual([1, -1, 2, -2, 1, -1, 2, 0, 0, -1]);
    expect(roundHalfAwayFromZero(2n ** 80n + 2n ** 79n, 2n ** 80n)).toBe(2n);
    expect(() => roundHalfAwayFromZero(1n, 0n)).toThrow(/divisor/);
  });
});

describe('weighted FedAvg over the entries each device updated', () => {
  it('equals the float64 reference on random heterogeneous deltas, with and without a server step', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rng = new Rng(seed);
      const uploads = Array.from({ length: 2 + rng.int(5) }, (_, i) => ({ device: `d${i}`, delta: randomDelta(rng, rf.base, 1 + rng.int(500)) }));
      for (const step of [1, 2.5]) {
        const result = fedAvg(rf.base, uploads, { baseSha256: rf.baseSha256, round: ROUND, serverStepQ16: step * Q16_ONE });
        const reference = floatReference(rf.base, uploads.map((u) => ({ base: rf.base, delta: u.delta, weight: u.delta.metrics.samples })), step);
        expectMatchesReference(result.model, reference);
        if (step > 1) expect(result.entriesClamped).toBeGreaterThan(0);
        // Scaling every weight by 2^45 changes nothing, and takes the sums past 2^53 (the BigInt path).
        const scaled = aggregateContributions(
          rf.base,
          uploads.map((u) => ({ device: u.device, delta: u.delta, base: rf.base, weight: BigInt(u.delta.metrics.samples) * 2n ** 45n })),
          { baseSha256: rf.baseSha256, round: ROUND, serverStepQ16: step * Q16_ONE },
        );
        expectMatchesReference(scaled.model, reference);
        // The aggregated delta takes the base to exactly the new model, through its binary format.
        const decoded = decodeDelta(encodeDelta(result.delta));
        expect(decoded.ok).toBe(true);
        if (decoded.ok) expectMatchesReference(applyDelta(rf.base, decoded.value), reference);
      }
    }
  });

  it('rounds ties away from zero and counts a covered, unchanged entry as a zero update', () => {
    const bias = targets.find((t) => t.role === 'bias')!;
    const b = targetValues(rf.base, bias);
    const section = (entries: [number, number][]): DeltaTensor => ({
      tensor: bias.tensor,
      dtype: 'int32',
      channels: bias.lastAxis,
      indices: Uint32Array.from(entries.map(([i]) => i)),
      values: Int32Array.from(entries.map(([i, d]) => b[i] + d)),
    });
    const upload = (device: string, samples: number, entries: [number, number][]) => ({
      device,
      delta: { baseSha256: rf.baseSha256, round: ROUND, metrics: { samples, loss: 1, accuracyBefore: 0, accuracyAfter: 0 }, tensors: [section(entries)] },
    });
    // Entry 0: +1 and (unchanged) 0 → 0.5 → +1. Entry 1: −1 and 0 → −0.5 → −1. Entry 2: weights 3 and 1,
    // changes +2 and −3 → 3/4 → +1. Entry 3: +5 and −5 equal weights → 0.
    const r = fedAvg(rf.base, [upload('a', 10, [[0, 1], [1, -1], [2, 2], [3, 5]]), upload('b', 10, [[3, -5]])], { baseSha256: rf.baseSha256, round: ROUND });
    const v = targetValues(r.model, bias);
    expect([v[0] - b[0], v[1] - b[1], v[3] - b[3]]).toEqual([1, -1, 0]);
    const r2 = fedAvg(rf.base, [upload('a', 30, [[2, 2]]), upload('b', 10, [[2, -3]])], { baseSha256: rf.baseSha256, round: ROUND });
    expect(targetValues(r2.model, bias)[2] - b[2]).toBe(1);
    // Entries nobody covered keep the base, and the weights add up.
    expect(r.totalWeight).toBe(20n);
    for (const t of targets.filter((x) => x.tensor !== bias.tensor)) expect(Array.from(targetValues(r.model, t))).toEqual(Array.from(targetValues(rf.base, t)));
  });

  it('clamps int8 weights to ±127 and int32 biases to their range', () => {
    const w = targets.find((t) => t.role === 'weight')!;
    const bias = targets.find((t) => t.role === 'bias')!;
    const bw = targetValues(rf.base, w);
    const bb = targetValues(rf.base, bias);
    const delta: SparseDelta = {
      baseSha256: rf.baseSha256,
      round: ROUND,
      metrics: { samples: 1, loss: 0, accuracyBefore: 0, accuracyAfter: 0 },
      tensors: [
        { tensor: w.tensor, dtype: 'int8', channels: w.lastAxis, indices: Uint32Array.from([0, 1]), values: Int32Array.from([bw[0] === 127 ? 126 : 127, bw[1] === -127 ? -126 : -127]) },
        { tensor: bias.tensor, dtype: 'int32', channels: bias.lastAxis, indices: Uint32Array.from([0]), values: Int32Array.from([2147483647]) },
      ],
    };
    const r = fedAvg(rf.base, [{ device: 'a', delta }], { baseSha256: rf.baseSha256, round: ROUND, serverStepQ16: 3 * Q16_ONE });
    expect(targetValues(r.model, w)[0]).toBe(127);
    expect(targetValues(r.model, w)[1]).toBe(-127);
    expect(targetValues(r.model, bias)[0]).toBe(2147483647);
    expect(bb[0]).toBeLessThan(2147483647 / 3);
    expect(r.entriesClamped).toBe(3);
  });

  it('aggregates real uploads of two MCU classes with different schemes', () => {
    const a = rf.device(5);
    const biasOnly = { biasLastN: 3, weights: [], classifier: false };
    const b = rf.device(6, biasOnly);
    const uploads = [
      { device: 'big-mcu', delta: a.delta },
      { device: 'small-mcu', delta: b.delta },
    ];
    const result = fedAvg(rf.base, uploads, { baseSha256: rf.baseSha256, round: ROUND });
    expectMatchesReference(result.model, floatReference(rf.base, uploads.map((u) => ({ base: rf.base, delta: u.delta, weight: u.delta.metrics.samples }))));
    // What only the big class updates (its weights) comes from it alone, unchanged by averaging.
    const weightSection = a.delta.tensors.find((t) => t.dtype === 'int8')!;
    const target = targets.find((t) => t.tensor === weightSection.tensor)!;
    expect(Array.from(weightSection.indices, (i) => targetValues(result.model, target)[i])).toEqual(Array.from(weightSection.values));
    expect(result.participants).toEqual(['big-mcu', 'small-mcu']);
  });

  it('refuses a device twice and an upload that does not fit the model', () => {
    const d = rf.device(7).delta;
    const opts = { baseSha256: rf.baseSha256, round: ROUND };
    expect(() => fedAvg(rf.base, [{ device: 'a', delta: d }, { device: 'a', delta: d }], opts)).toThrow(/twice/);
    const bad = { ...d, tensors: [{ ...d.tensors[0], indices: Uint32Array.from([1e6]), values: Int32Array.from([1]) }] };
    expect(() => fedAvg(rf.base, [{ device: 'x', delta: bad }], opts)).toThrow(/device x: index/);
    expect(() => fedAvg(rf.base, [], opts)).toThrow(/nothing to aggregate/);
  });
});

describe('buffered asynchronous aggregation', () => {
  it('discounts staleness by 1/sqrt(1+τ) in Q16', () => {
    expect([0, 1, 3, 8].map(stalenessFactorQ16)).toEqual([65536, 46341, 32768, 21845]);
    for (let tau = 0; tau < 50; tau++) expect(Math.abs(stalenessFactorQ16(tau) / Q16_ONE - 1 / Math.sqrt(1 + tau))).toBeLessThan(1 / Q16_ONE);
  });

  it('matches FedAvg when nothing is stale, and rebases stale uploads onto the current model', () => {
    const rng = new Rng(42);
    const buffer = new StalenessBuffer(ROUND.job, { model: rf.base, sha256: rf.baseSha256, round: 0 }, { bufferSize: 2, maxStaleness: 2 });
    const first = [randomDelta(rng, rf.base, 100), randomDelta(rng, rf.base, 40)];
    const late = randomDelta(rng, rf.base, 80); // trained from version 0, arrives after version 1
    expect(buffer.offer('a', first[0])).toMatchObject({ ok: true, staleness: 0, weight: 100n * 65536n, ready: false });
    expect(buffer.offer('a', first[1])).toMatchObject({ ok: false, error: { code: 'DUPLICATE' } });
    expect(buffer.offer('b', first[1])).toMatchObject({ ok: true, ready: true });
    const v1 = buffer.aggregate();
    expectMatchesReference(v1.model, floatReference(rf.base, first.map((delta) => ({ base: rf.base, delta, weight: delta.metrics.samples }))));
    const v1Sha = modelSha256(v1.model);
    buffer.advance(v1.model, v1Sha);
    expect(buffer.size).toBe(0);

    const fresh = randomDelta(rng, v1.model, 50, { job: ROUND.job, round: 1 }, v1Sha);
    expect(buffer.offer('c', late)).toMatchObject({ ok: true, staleness: 1, weight: 80n * 46341n });
    expect(buffer.offer('d', fresh)).toMatchObject({ ok: true, staleness: 0 });
    const v2 = buffer.aggregate();
    expectMatchesReference(
      v2.model,
      floatReference(v1.model, [
        { base: rf.base, delta: late, weight: 80 * 46341 },
        { base: v1.model, delta: fresh, weight: 50 * 65536 },
      ]),
    );
    // The aggregated delta is against version 1 and takes it to version 2.
    expect(v2.delta.baseSha256).toBe(v1Sha);
    expectMatchesReference(applyDelta(v1.model, v2.delta), floatReference(v2.model, []));
  });

  it('refuses uploads older than the kept versions, from unknown bases, or naming another round', () => {
    const rng = new Rng(7);
    const buffer = new StalenessBuffer(ROUND.job, { model: rf.base, sha256: rf.baseSha256, round: 0 }, { bufferSize: 1, maxStaleness: 1 });
    const old = randomDelta(rng, rf.base, 10);
    for (let v = 1; v <= 2; v++) {
      expect(buffer.offer(`d${v}`, randomDelta(rng, buffer.current.model, 10, { job: ROUND.job, round: buffer.current.round }, buffer.current.sha256)).ok).toBe(true);
      const next = buffer.aggregate().model;
      buffer.advance(next, modelSha256(next));
    }
    expect(buffer.current.round).toBe(2);
    expect(buffer.offer('late', old)).toMatchObject({ ok: false, error: { code: 'TOO_STALE', message: expect.stringContaining('2 behind') } });
    expect(buffer.offer('x', { ...old, baseSha256: 'e'.repeat(64) })).toMatchObject({ ok: false, error: { code: 'UNKNOWN_BASE' } });
    const current = randomDelta(rng, buffer.current.model, 10, { job: ROUND.job, round: 0 }, buffer.current.sha256);
    expect(buffer.offer('y', current)).toMatchObject({ ok: false, error: { code: 'WRONG_ROUND' } });
    expect(buffer.size).toBe(0);
  });
});
