import type { FaultConfig } from '@contract';

/** Faults as the form edits them: shares in percent (people think in %), the rest as in the contract. */
export interface FaultForm {
  disconnectsPerHour: number;
  powerLossesPerHour: number;
  messageLossPercent: number;
  latencyMs: number;
  jitterMs: number;
  blockLossPercent: number;
  blockCorruptionPercent: number;
  transferPowerLossPercent: number;
  miscompute: boolean;
  /** Free SRAM / Flash the devices report instead of their profile's, bytes; null keeps the profile's. */
  sramFreeBytes: number | null;
  flashFreeBytes: number | null;
}

const percent = (share: number | undefined): number => Math.round((share ?? 0) * 1000) / 10;

export function faultFormFrom(faults: FaultConfig | undefined): FaultForm {
  return {
    disconnectsPerHour: faults?.disconnectsPerHour ?? 0,
    powerLossesPerHour: faults?.powerLossesPerHour ?? 0,
    messageLossPercent: percent(faults?.messageLoss),
    latencyMs: faults?.latencyMs ?? 0,
    jitterMs: faults?.jitterMs ?? 0,
    blockLossPercent: percent(faults?.blockLoss),
    blockCorruptionPercent: percent(faults?.blockCorruption),
    transferPowerLossPercent: percent(faults?.transferPowerLoss),
    miscompute: faults?.miscompute ?? false,
    sramFreeBytes: faults?.sramFreeBytes ?? null,
    flashFreeBytes: faults?.flashFreeBytes ?? null,
  };
}

export function faultConfigFrom(form: FaultForm): FaultConfig {
  return {
    disconnectsPerHour: form.disconnectsPerHour,
    powerLossesPerHour: form.powerLossesPerHour,
    messageLoss: form.messageLossPercent / 100,
    latencyMs: form.latencyMs,
    jitterMs: form.jitterMs,
    blockLoss: form.blockLossPercent / 100,
    blockCorruption: form.blockCorruptionPercent / 100,
    transferPowerLoss: form.transferPowerLossPercent / 100,
    miscompute: form.miscompute,
    sramFreeBytes: form.sramFreeBytes,
    flashFreeBytes: form.flashFreeBytes,
  };
}

/** "2 disc/h · 5% loss · 200±50 ms", or "none". */
export function describeFaults(faults: FaultConfig): string {
  const parts: string[] = [];
  if (faults.disconnectsPerHour) parts.push(`${faults.disconnectsPerHour} disc/h`);
  if (faults.powerLossesPerHour) parts.push(`${faults.powerLossesPerHour} power loss/h`);
  if (faults.messageLoss) parts.push(`${Math.round(faults.messageLoss * 1000) / 10}% loss`);
  if (faults.latencyMs || faults.jitterMs) parts.push(`${faults.latencyMs}±${faults.jitterMs} ms`);
  if (faults.blockLoss) parts.push(`${percent(faults.blockLoss)}% block loss`);
  if (faults.blockCorruption) parts.push(`${percent(faults.blockCorruption)}% corrupt blocks`);
  if (faults.transferPowerLoss) parts.push(`${percent(faults.transferPowerLoss)}% power loss in transfer`);
  if (faults.miscompute) parts.push('miscomputing runtime');
  if (faults.sramFreeBytes !== null) parts.push(`${Math.round(faults.sramFreeBytes / 1024)} KB SRAM free`);
  if (faults.flashFreeBytes !== null) parts.push(`${Math.round(faults.flashFreeBytes / 1024)} KB Flash free`);
  return parts.length ? parts.join(' · ') : 'none';
}
