import type { FaultConfig } from '@contract';

/** Faults as the form edits them: message loss in percent (people think in %), the rest as in the contract. */
export interface FaultForm {
  disconnectsPerHour: number;
  powerLossesPerHour: number;
  messageLossPercent: number;
  latencyMs: number;
  jitterMs: number;
}

export function faultFormFrom(faults: FaultConfig | undefined): FaultForm {
  return {
    disconnectsPerHour: faults?.disconnectsPerHour ?? 0,
    powerLossesPerHour: faults?.powerLossesPerHour ?? 0,
    messageLossPercent: Math.round((faults?.messageLoss ?? 0) * 1000) / 10,
    latencyMs: faults?.latencyMs ?? 0,
    jitterMs: faults?.jitterMs ?? 0,
  };
}

export function faultConfigFrom(form: FaultForm): FaultConfig {
  return {
    disconnectsPerHour: form.disconnectsPerHour,
    powerLossesPerHour: form.powerLossesPerHour,
    messageLoss: form.messageLossPercent / 100,
    latencyMs: form.latencyMs,
    jitterMs: form.jitterMs,
  };
}

/** "2 disc/h · 5% loss · 200±50 ms", or "none". */
export function describeFaults(faults: FaultConfig): string {
  const parts: string[] = [];
  if (faults.disconnectsPerHour) parts.push(`${faults.disconnectsPerHour} disc/h`);
  if (faults.powerLossesPerHour) parts.push(`${faults.powerLossesPerHour} power loss/h`);
  if (faults.messageLoss) parts.push(`${Math.round(faults.messageLoss * 1000) / 10}% loss`);
  if (faults.latencyMs || faults.jitterMs) parts.push(`${faults.latencyMs}±${faults.jitterMs} ms`);
  return parts.length ? parts.join(' · ') : 'none';
}
