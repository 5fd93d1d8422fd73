import type { DeploymentDraft } from '../../stores/deployments';

/**
 * Failure codes a device reports (docs/protocol.md §12), offered as abort criteria; the field takes
 * other upper-case codes too, as firmware may send them.
 */
export const FAILURE_CODES = [
  'BAD_SIGNATURE',
  'HASH_MISMATCH',
  'BAD_PACKAGE',
  'INCOMPATIBLE_TARGET',
  'INSUFFICIENT_MEMORY',
  'SELF_TEST_FAILED',
  'BUSY',
  'TRANSFER_TIMEOUT',
  'STORAGE_ERROR',
] as const;

/** What the create form edits, in the units the operator types (percent, seconds, KB/s). */
export interface DeploymentForm {
  name: string;
  modelId: string;
  version: number | null;
  targetAll: boolean;
  /** Device ids separated by commas, spaces or new lines. */
  deviceIds: string;
  tags: string[];
  mcus: string[];
  canaryKind: 'count' | 'percent';
  canaryValue: number;
  /** Cumulative percentages after the canary, e.g. "25, 50, 100". */
  steps: string;
  soakSeconds: number;
  autoPromote: boolean;
  successPercent: number;
  abortFailurePercent: number;
  abortMinExecuted: number;
  abortOn: string[];
  maxConcurrent: number;
  kilobytesPerSecond: number;
  blockSize: number;
  window: number;
  transferIdleSeconds: number;
  attemptTimeoutMinutes: number;
  /** Retries per failure code, typed as "BUSY=5, TRANSFER_TIMEOUT=3" (merged over the core's defaults). */
  retries: string;
}

/** A form with the contract's defaults. */
export function emptyForm(modelId = '', version: number | null = null): DeploymentForm {
  return {
    name: '',
    modelId,
    version,
    targetAll: true,
    deviceIds: '',
    tags: [],
    mcus: [],
    canaryKind: 'count',
    canaryValue: 1,
    steps: '100',
    soakSeconds: 0,
    autoPromote: true,
    successPercent: 90,
    abortFailurePercent: 25,
    abortMinExecuted: 4,
    abortOn: [],
    maxConcurrent: 50,
    kilobytesPerSecond: 4096,
    blockSize: 4096,
    window: 32,
    transferIdleSeconds: 20,
    attemptTimeoutMinutes: 10,
    retries: '',
  };
}

/** The device ids typed in a free-text field, deduplicated, in order. */
export function parseDeviceIds(text: string): string[] {
  return [...new Set(text.split(/[\s,;]+/).filter((id) => id.length > 0))];
}

/** Wave steps typed as "25, 50, 100": cumulative percentages, increasing, each in (0, 100]. */
export function parseSteps(text: string): number[] {
  const parts = text.split(/[\s,;%]+/).filter((p) => p.length > 0);
  if (parts.length === 0) throw new Error('waves: give at least one step (the last one is usually 100%)');
  const steps = parts.map((p) => {
    const n = Number(p);
    if (!Number.isFinite(n) || n <= 0 || n > 100) throw new Error(`waves: "${p}" is not a percentage in (0, 100]`);
    return n;
  });
  for (let i = 1; i < steps.length; i++) {
    if (steps[i]! <= steps[i - 1]!) throw new Error(`waves: steps are cumulative and must increase (${steps[i - 1]}% then ${steps[i]}%)`);
  }
  return steps;
}

/** Retries typed as "BUSY=5, TRANSFER_TIMEOUT=3": upper-case failure codes, 0 to 20 retries each. */
export function parseRetries(text: string): Record<string, number> {
  const retries: Record<string, number> = {};
  for (const part of text.split(/[\s,;]+/).filter((p) => p.length > 0)) {
    const match = /^([A-Z][A-Z0-9_]*)=(\d+)$/.exec(part);
    if (!match) throw new Error(`retries: "${part}" is not CODE=N (e.g. BUSY=5)`);
    const n = Number(match[2]);
    if (n > 20) throw new Error(`retries: ${match[1]} may be retried at most 20 times, not ${n}`);
    retries[match[1]!] = n;
  }
  return retries;
}

/** The targets part of a draft (throws when none is chosen, naming what to choose). */
export function draftTargets(form: DeploymentForm): DeploymentDraft['targets'] {
  if (form.targetAll) return { all: true, deviceIds: [], tags: [], mcus: [] };
  const targets = { all: false, deviceIds: parseDeviceIds(form.deviceIds), tags: [...form.tags], mcus: [...form.mcus] };
  if (targets.deviceIds.length + targets.tags.length + targets.mcus.length === 0) {
    throw new Error('targets: choose all devices, or give device ids, tags or MCU profiles');
  }
  return targets;
}

/** The deploy.create input of a form; throws with the field's problem when it cannot be one. */
export function draftFromForm(form: DeploymentForm): DeploymentDraft {
  if (!form.modelId) throw new Error('model: choose the model to deploy');
  if (form.version === null) throw new Error('version: choose the model version to deploy');
  const name = form.name.trim();
  return {
    ...(name ? { name } : {}),
    modelId: form.modelId,
    version: form.version,
    targets: draftTargets(form),
    waves: {
      canary: form.canaryKind === 'count' ? { count: Math.max(1, Math.round(form.canaryValue)) } : { percent: form.canaryValue },
      steps: parseSteps(form.steps),
      soakMs: Math.round(form.soakSeconds * 1000),
      autoPromote: form.autoPromote,
      successRate: form.successPercent / 100,
    },
    abort: { failureRate: form.abortFailurePercent / 100, minExecuted: Math.max(1, Math.round(form.abortMinExecuted)), abortOn: [...form.abortOn] },
    limits: {
      maxConcurrent: Math.round(form.maxConcurrent),
      bytesPerSecond: Math.round(form.kilobytesPerSecond * 1024),
      blockSize: Math.round(form.blockSize),
      window: Math.round(form.window),
      transferIdleMs: Math.round(form.transferIdleSeconds * 1000),
      attemptTimeoutMs: Math.round(form.attemptTimeoutMinutes * 60_000),
      retries: parseRetries(form.retries),
    },
  };
}

/** The waves as a sentence for the review step. */
export function describeWaves(draft: DeploymentDraft): string {
  const w = draft.waves!;
  const canary = 'count' in w.canary! ? `${w.canary.count} device(s)` : `${w.canary!.percent}% of the devices`;
  const promotion = w.autoPromote ? `promoted automatically when ≥ ${Math.round(w.successRate! * 100)}% succeed` : 'promoted by hand';
  const soak = w.soakMs ? `, soak ${Math.round(w.soakMs / 1000)} s between waves` : '';
  return `Canary ${canary}, then ${w.steps!.map((s) => `${s}%`).join(' → ')}; ${promotion}${soak}.`;
}
