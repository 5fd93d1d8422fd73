import type { DeviceSummary, TelemetryPoint } from '../../../src-main/core/contract';

/** A device row with plausible defaults; override what the test is about. */
export function device(id: string, overrides: Partial<DeviceSummary> = {}): DeviceSummary {
  return {
    id,
    name: id.toUpperCase(),
    tags: [],
    mcu: 'stm32f746',
    status: 'online',
    firmware: '1.0.0',
    model: null,
    simulated: true,
    createdAt: 1_700_000_000_000,
    lastSeen: 1_700_000_000_000,
    battery: 90,
    temperature: 25,
    rssi: -60,
    ...overrides,
  };
}

/** A telemetry sample at `ts` whose fields are derived from `v`. */
export function sample(ts: number, v: number, overrides: Partial<TelemetryPoint> = {}): TelemetryPoint {
  return { ts, battery: v, temperature: v + 1, rssi: -v, freeHeap: v * 10, inferenceMs: v / 2, metrics: {}, ...overrides };
}
