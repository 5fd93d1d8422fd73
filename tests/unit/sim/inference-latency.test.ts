import { describe, expect, it } from 'vitest';
import { findMcuProfile, loadMcuProfiles } from '../../../src-main/core/engine/mcu-profiles';
import { decodeTelemetry } from '../../../src-main/core/protocol';
import { inferenceCycles, inferenceLatencyMs, INSTRUCTIONS_PER_MAC } from '../../../src-main/core/sim/inference-latency';
import { Prng } from '../../../src-main/core/sim/prng';
import { nominalInferenceMs, TelemetryModel } from '../../../src-main/core/sim/telemetry-model';

const profiles = loadMcuProfiles();
const f746 = findMcuProfile(profiles, 'stm32f746');
const h743 = findMcuProfile(profiles, 'stm32h743');
const rp2040 = findMcuProfile(profiles, 'rp2040');
const nrf = findMcuProfile(profiles, 'nrf52840');

describe('the inference latency model', () => {
  it('costs a Cortex-M7 the instructions per MAC measured under qemu, one cycle each, at the profile clock', () => {
    // person_detect: 7,157,888 MACs; qemu counted 63,946,240 instructions (8.93 per MAC).
    expect(INSTRUCTIONS_PER_MAC).toBeGreaterThan(8.5);
    expect(INSTRUCTIONS_PER_MAC).toBeLessThan(10.5);
    expect(inferenceCycles(7_157_888, f746)).toBeCloseTo(7_157_888 * INSTRUCTIONS_PER_MAC, 3);
    expect(inferenceLatencyMs(7_157_888, f746)).toBeCloseTo((7_157_888 * INSTRUCTIONS_PER_MAC) / 216_000, 6);
    // about 300 ms on a 216 MHz F746: TFLite Micro's own person_detection figure on an M7 is of that order
    expect(inferenceLatencyMs(7_157_888, f746)).toBeGreaterThan(200);
    expect(inferenceLatencyMs(7_157_888, f746)).toBeLessThan(400);
  });

  it('is linear in MACs and inverse in the clock; slower cores pay more cycles per instruction', () => {
    expect(inferenceLatencyMs(2_000_000, f746)).toBeCloseTo(2 * inferenceLatencyMs(1_000_000, f746), 9);
    expect(inferenceLatencyMs(1_000_000, h743) / inferenceLatencyMs(1_000_000, f746)).toBeCloseTo(216 / 480, 9);
    const perMhz = (p: typeof f746) => inferenceCycles(1_000_000, p);
    expect(perMhz(rp2040)).toBeGreaterThan(perMhz(nrf));
    expect(perMhz(nrf)).toBeGreaterThan(perMhz(f746));
    expect(inferenceLatencyMs(0, f746)).toBe(0);
  });

  it('drives the telemetry: a device reports its model latency and prediction once the model has run', () => {
    const model = new TelemetryModel(f746, new Prng(3));
    model.step(1000);
    const before = decodeTelemetry(Buffer.from(model.payload(1, 0)));
    expect(before.ok && before.value.inferenceMs).toBeCloseTo(nominalInferenceMs(f746), -1);
    expect(before.ok && 'prediction' in before.value).toBe(false);

    model.setWorkload(7_157_888);
    model.setPrediction({ prediction: 1, confidence: 0.8125 });
    const samples = Array.from({ length: 50 }, (_, i) => {
      model.step(1000);
      const d = decodeTelemetry(Buffer.from(model.payload(2 + i, i + 1)));
      if (!d.ok) throw new Error(d.error.message);
      return d.value;
    });
    const mean = samples.reduce((s, t) => s + t.inferenceMs!, 0) / samples.length;
    expect(mean / inferenceLatencyMs(7_157_888, f746)).toBeGreaterThan(0.97);
    expect(mean / inferenceLatencyMs(7_157_888, f746)).toBeLessThan(1.03);
    expect(samples.every((t) => t.prediction === 1 && t.confidence === 0.813)).toBe(true);

    model.setWorkload(null); // another model: no prediction until it has run
    model.step(1000);
    const after = decodeTelemetry(Buffer.from(model.payload(99, 99)));
    expect(after.ok && 'prediction' in after.value).toBe(false);
  });
});
