import type { McuProfile } from '../common/mcu-profile';
import { inferenceLatencyMs } from './inference-latency';
import type { Prng } from './prng';

/**
 * The physics of one simulated device: battery, temperature, radio, heap and inference latency.
 * Values depend only on the device's PRNG stream and the sample interval, never on wall time, so a
 * seed replays the same series.
 */

/**
 * Multiply-accumulates of the workload a device without a model of ours runs (a small
 * keyword-spotting DS-CNN, about kws_ref_model's 2.7 M); an activated package replaces it.
 */
const WORKLOAD_MACS = 2_700_000;
/** Battery drain with the radio idle, percent per hour. */
const IDLE_DRAIN_PCT_PER_HOUR = 0.3;
/** Battery cost of one radio transmission, percent: shorter intervals drain faster. */
const TX_DRAIN_PCT = 0.0005;
/** Share of SRAM the firmware itself occupies. */
const FIRMWARE_SRAM_SHARE = 0.25;
/** Flash the firmware image occupies. */
const FIRMWARE_FLASH_BYTES = 384 * 1024;

/** Battery level (percent) below which the device reports a low_battery event. */
export const LOW_BATTERY_PCT = 15;

/** Expected inference latency of the simulated workload on a profile, in ms. */
export function nominalInferenceMs(profile: McuProfile): number {
  return inferenceLatencyMs(WORKLOAD_MACS, profile);
}

/** What the device's active model last said about its sensor input. */
export interface Prediction {
  /** Index of the most likely class. */
  prediction: number;
  /** Its probability, 0-1. */
  confidence: number;
}

/** What the device reports as free SRAM and Flash. */
export function freeMemory(profile: McuProfile): { sramFree: number; flashFree: number } {
  return {
    sramFree: Math.round(profile.sramBytes * (1 - FIRMWARE_SRAM_SHARE)),
    flashFree: Math.max(0, profile.flashBytes - FIRMWARE_FLASH_BYTES),
  };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Mutable measurement state of one device (numbers only: kept small for 10,000 devices). */
export class TelemetryModel {
  battery: number;
  temperature: number;
  private ambient: number;
  private readonly rssiBase: number;
  private readonly heapBase: number;
  private inferenceBase: number;
  private anomaly: number;
  private prediction: Prediction | null = null;
  rssi = 0;
  freeHeap = 0;
  inferenceMs = 0;

  constructor(
    private readonly profile: McuProfile,
    private readonly rng: Prng,
  ) {
    this.battery = rng.range(60, 100);
    this.ambient = rng.range(18, 30);
    this.temperature = this.ambient + rng.range(0, 3);
    this.rssiBase = rng.range(-85, -45);
    this.heapBase = Math.round(profile.sramBytes * rng.range(0.08, 0.16));
    this.inferenceBase = nominalInferenceMs(profile);
    this.anomaly = rng.range(0, 0.2);
  }

  /**
   * The model the device runs changed: latency follows its MACs (null: back to the built-in
   * workload, and no prediction until the new model has run).
   */
  setWorkload(macs: number | null): void {
    this.inferenceBase = macs === null ? nominalInferenceMs(this.profile) : inferenceLatencyMs(macs, this.profile);
    this.prediction = null;
  }

  /** The latest result of the active model, reported with every sample until the next one. */
  setPrediction(prediction: Prediction | null): void {
    this.prediction = prediction;
  }

  /** Advances the state by one sample taken `intervalMs` after the previous one. */
  step(intervalMs: number): void {
    const rng = this.rng;
    const drain = (IDLE_DRAIN_PCT_PER_HOUR * intervalMs) / 3_600_000 + TX_DRAIN_PCT;
    this.battery = Math.max(0, this.battery - drain * rng.range(0.8, 1.2));
    // Temperature: a mean-reverting walk around a slowly wandering ambient, plus heat from inference.
    const seconds = Math.min(intervalMs, 60_000) / 1000;
    this.ambient += 0.01 * rng.normal() * Math.sqrt(seconds);
    const target = this.ambient + 2.5;
    this.temperature += Math.min(1, seconds / 30) * (target - this.temperature) + 0.08 * rng.normal() * Math.sqrt(seconds);
    this.rssi = Math.round(Math.min(-20, Math.max(-120, this.rssiBase + 3 * rng.normal())));
    this.freeHeap = Math.max(0, Math.round(this.heapBase * (1 - 0.03 * Math.abs(rng.normal()))));
    this.inferenceMs = Math.max(0.1, this.inferenceBase * (1 + 0.04 * rng.normal()));
    this.anomaly = Math.min(1, Math.max(0, 0.9 * this.anomaly + 0.1 * rng.range(0, 0.3) + (rng.next() < 0.002 ? 0.6 : 0)));
  }

  /** The telemetry payload for the current state, built without intermediate objects. */
  payload(ts: number, seq: number): string {
    return (
      `{"v":1,"ts":${ts},"seq":${seq},"battery":${round1(this.battery)},"temperature":${round1(this.temperature)},` +
      `"rssi":${this.rssi},"freeHeap":${this.freeHeap},"inferenceMs":${round1(this.inferenceMs)},` +
      (this.prediction ? `"prediction":${this.prediction.prediction},"confidence":${round3(this.prediction.confidence)},` : '') +
      `"metrics":{"anomaly":${round3(this.anomaly)}}}`
    );
  }

  /** A fresh battery after the simulated device was recharged (it died at 0 %). */
  recharge(): void {
    this.battery = 100;
  }
}
