import { describe, expect, it } from 'vitest';
import type { ModelVersion, PersonalizationDevice, RoundSummary } from '../../../src-main/core/contract';
import { accuracySeries, countsText, roundTotal, formatAccuracy, formatDenseRatio, formatGain, lineageSteps, personalizedDevices, roundBytes } from '../../../src-renderer/features/training/job-view';

const counts = { selected: 0, refused: 0, training: 0, uploaded: 0, rejected: 0, aggregated: 0, late: 0, failed: 0 };

function round(r: number, over: Partial<RoundSummary> = {}): RoundSummary {
  return {
    round: r,
    state: 'done',
    stateReason: null,
    counts,
    bytesUp: 0,
    bytesDown: 0,
    denseBytesPerDevice: 10_000,
    globalAccuracy: null,
    baseAccuracy: 0.8,
    deviceAccuracy: { min: null, median: null, max: null, n: 0 },
    startedAt: 0,
    ...over,
  };
}

function version(v: number, lineage?: ModelVersion['lineage']): ModelVersion {
  return { version: v, sha256: 'a'.repeat(64), sizeBytes: 1, fileName: `v${v}.tflite`, importedAt: v, graph: {} as ModelVersion['graph'], ...(lineage ? { lineage } : {}) };
}

describe('job view', () => {
  it('lays the rounds out as chart columns in round order, in percent, null where unknown', () => {
    const s = accuracySeries([round(1, { globalAccuracy: 0.9, deviceAccuracy: { min: 0.7, median: 0.85, max: 0.95, n: 3 } }), round(0, { globalAccuracy: 0.85 })]);
    expect(s.rounds).toEqual([1, 2]);
    expect(s.global[0]).toBeCloseTo(85);
    expect(s.global[1]).toBeCloseTo(90);
    expect(s.base[0]).toBeCloseTo(80);
    expect(s.deviceMin).toEqual([null, 70]);
    expect(s.deviceMedian[1]).toBeCloseTo(85);
    expect(s.deviceMax[1]).toBeCloseTo(95);
  });

  it('divides upload bytes by the accepted uploads and download bytes by the devices sent the aggregate', () => {
    const b = roundBytes(round(0, { counts: { ...counts, uploaded: 1, aggregated: 3, failed: 2 }, bytesUp: 2000, bytesDown: 600 }));
    expect(b).toEqual({ upPerDevice: 500, downPerDevice: 200, upRatio: 0.05, downRatio: 0.02 });
    expect(formatDenseRatio(b.upRatio)).toBe('1/20 of dense');
    expect(formatDenseRatio(2)).toBe('2.0× dense');
    expect(roundBytes(round(0))).toEqual({ upPerDevice: null, downPerDevice: null, upRatio: null, downRatio: null });
    expect(formatDenseRatio(null)).toBe('—');
  });

  it('writes counts without the zero states, and accuracies and gains in percent', () => {
    // `selected` counts every device chosen: 8 chosen, 5 aggregated and 1 late leave 2 only selected.
    expect(countsText({ ...counts, selected: 8, aggregated: 5, late: 1 })).toBe('aggregated 5, selected 2, late 1');
    expect(countsText({ ...counts, selected: 3, aggregated: 3 })).toBe('aggregated 3');
    expect(roundTotal({ ...counts, selected: 3, aggregated: 3 })).toBe(3);
    expect(formatAccuracy(0.8768)).toBe('87.7%');
    expect(formatAccuracy(null)).toBe('—');
    expect(formatGain(0.8, 0.825)).toBe('+2.5 pp');
    expect(formatGain(0.8, 0.79)).toBe('−1.0 pp');
    expect(formatGain(undefined, 0.9)).toBe('—');
  });

  it("keeps a job's versions and their imported ancestor, parent before child", () => {
    const schemes = [{ mcu: 'stm32f746', scheme: 'sparse' }, { mcu: 'nrf52840', scheme: 'bias' }];
    const versions = [
      version(1),
      version(2),
      version(3, { parentVersion: 2, kind: 'federated', job: 'job-a', round: 0, participants: 4, schemes, metrics: { globalAccuracy: 0.9 } }),
      version(4, { parentVersion: 3, kind: 'federated', job: 'job-a', round: 1, participants: 3, schemes, metrics: {} }),
      version(5, { parentVersion: 1, kind: 'federated', job: 'job-b', round: 0, participants: 2, schemes: [], metrics: {} }),
    ].reverse();
    const steps = lineageSteps(versions, 'job-a');
    expect(steps.map((s) => [s.version, s.parentVersion, s.kind])).toEqual([
      [2, null, 'import'],
      [3, 2, 'federated'],
      [4, 3, 'federated'],
    ]);
    expect(steps[1]).toMatchObject({ job: 'job-a', round: 0, participants: 4, schemes: 'stm32f746: sparse, nrf52840: bias', globalAccuracy: 0.9 });
    expect(lineageSteps(versions).map((s) => s.version)).toEqual([1, 2, 3, 4, 5]);
    expect(lineageSteps([version(1), version(2)])).toEqual([]);
  });

  it('counts a device as personalized from its latest session that kept, until it is reset', () => {
    const d = (deviceId: string, kept: boolean | undefined): PersonalizationDevice => ({ deviceId, mcu: 'm', state: kept ? 'kept' : 'discarded', ...(kept === undefined ? {} : { kept }) });
    const sessions = [
      { createdAt: 200, devices: [d('a', false), d('c', true)] },
      { createdAt: 100, devices: [d('a', true), d('b', true)] },
    ];
    expect([...personalizedDevices(sessions, new Map()).keys()].sort()).toEqual(['b', 'c']);
    expect([...personalizedDevices(sessions, new Map([['b', 150]])).keys()]).toEqual(['c']);
    expect([...personalizedDevices(sessions, new Map([['c', 150]])).keys()].sort()).toEqual(['b', 'c']);
  });
});
