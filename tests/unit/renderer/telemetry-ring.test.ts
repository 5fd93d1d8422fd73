import { describe, expect, it } from 'vitest';
import { TelemetryRing } from '../../../src-renderer/features/device/telemetry-ring';
import { sample } from './fixtures';

describe('telemetry ring', () => {
  it('keeps samples in time order as contiguous views', () => {
    const ring = new TelemetryRing(4);
    ring.pushAll([sample(1, 10), sample(2, 20), sample(3, 30)]);
    expect([...ring.timestamps()]).toEqual([1, 2, 3]);
    expect([...ring.values('battery')]).toEqual([10, 20, 30]);
    expect(ring.latest('rssi')).toBe(-30);
  });

  it('drops the oldest samples once full, without copying', () => {
    const ring = new TelemetryRing(3);
    for (let t = 1; t <= 7; t++) ring.push(sample(t, t));
    expect(ring.length).toBe(3);
    expect([...ring.timestamps()]).toEqual([5, 6, 7]);
    expect([...ring.values('freeHeap')]).toEqual([50, 60, 70]);
    const view = ring.values('freeHeap');
    ring.push(sample(8, 8));
    expect(ring.values('freeHeap').buffer).toBe(view.buffer);
    expect([...ring.values('freeHeap')]).toEqual([60, 70, 80]);
  });

  it('ignores samples that are not newer than the last one (history and live overlap)', () => {
    const ring = new TelemetryRing(10);
    ring.pushAll([sample(10, 1), sample(20, 2)]);
    const version = ring.version;
    expect(ring.pushAll([sample(15, 9), sample(20, 9), sample(30, 3)])).toBe(1);
    expect([...ring.timestamps()]).toEqual([10, 20, 30]);
    expect(ring.version).toBe(version + 1);
  });

  it('stores missing values as NaN and tracks gaps while they are held', () => {
    const ring = new TelemetryRing(2);
    ring.push(sample(1, 1, { temperature: null }));
    ring.push(sample(2, 2));
    expect(ring.hasGaps('temperature')).toBe(true);
    expect(ring.hasGaps('battery')).toBe(false);
    expect(Number.isNaN(ring.values('temperature')[0])).toBe(true);
    ring.push(sample(3, 3));
    expect(ring.hasGaps('temperature')).toBe(false);
    ring.push(sample(4, 4, { inferenceMs: null }));
    expect(ring.latest('inferenceMs')).toBeNull();
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new TelemetryRing(0)).toThrow(/positive integer/);
  });

  it('keeps the newest model prediction for the headline; samples without one keep it, clear forgets it', () => {
    const ring = new TelemetryRing(3);
    ring.push(sample(1, 1));
    expect(ring.latestPrediction).toBeNull();
    ring.push(sample(2, 2, { prediction: 4, confidence: 0.9 }));
    ring.push(sample(3, 3));
    expect(ring.latestPrediction).toEqual({ ts: 2, prediction: 4, confidence: 0.9 });
    ring.push(sample(4, 4, { prediction: 1, confidence: 0.5 }));
    expect(ring.latestPrediction).toEqual({ ts: 4, prediction: 1, confidence: 0.5 });
    ring.push(sample(3.5, 0, { prediction: 7, confidence: 1 })); // older than the last: ignored
    expect(ring.latestPrediction?.prediction).toBe(1);
    ring.clear();
    expect(ring.latestPrediction).toBeNull();
  });
});

