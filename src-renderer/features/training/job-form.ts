import type { FederatedJobSpec, SchemeName } from '@contract';

/** What rounds.create takes from the form (dryRun is set by the store). */
export type JobDraft = Omit<FederatedJobSpec, 'dryRun'>;

/** The schemes the form offers: `auto`, `searched` and the standard ones (the contract's SchemeName). */
export const SCHEME_CHOICES: readonly { value: JobForm['scheme']; label: string }[] = [
  { value: 'auto', label: 'auto: the best standard scheme each MCU class fits' },
  { value: 'searched', label: 'searched: calibrated on this model, per MCU class (trial runs before round 1)' },
  { value: 'bias', label: 'bias: biases of the last layers' },
  { value: 'sparse', label: 'sparse: biases and the first channels of some weights' },
  { value: 'classifier', label: 'classifier: the last layer only' },
  { value: 'full', label: 'full: every weight and bias' },
];

/** What the create form edits, in the units the operator types (percent, seconds). */
export interface JobForm {
  name: string;
  modelId: string;
  version: number | null;
  fractionPercent: number;
  minDevices: number;
  tags: string[];
  mcus: string[];
  onlineOnly: boolean;
  minBatteryPercent: number;
  scheme: 'auto' | 'searched' | SchemeName;
  epochs: number;
  samples: number;
  /** Learning rate; null keeps the training library's default. */
  lr: number | null;
  qas: boolean;
  rounds: number;
  deadlineSeconds: number;
  minCompletionPercent: number;
  mode: 'sync' | 'async';
  asyncBuffer: number;
  maxStaleness: number;
  /** Stop at this global accuracy (percent); null: run every round. */
  targetAccuracyPercent: number | null;
  /** Stop after this many rounds without improvement; null: never. */
  patience: number | null;
}

/** A form with the contract's defaults. */
export function emptyJobForm(modelId = '', version: number | null = null): JobForm {
  return {
    name: '',
    modelId,
    version,
    fractionPercent: 100,
    minDevices: 2,
    tags: [],
    mcus: [],
    onlineOnly: true,
    minBatteryPercent: 20,
    scheme: 'auto',
    epochs: 1,
    samples: 200,
    lr: null,
    qas: true,
    rounds: 5,
    deadlineSeconds: 120,
    minCompletionPercent: 80,
    mode: 'sync',
    asyncBuffer: 10,
    maxStaleness: 4,
    targetAccuracyPercent: null,
    patience: null,
  };
}

function share(percent: number, what: string, { allowZero }: { allowZero: boolean }): number {
  if (!Number.isFinite(percent) || percent > 100 || percent < 0 || (!allowZero && percent === 0)) {
    throw new Error(`${what}: ${percent}% is not a percentage in ${allowZero ? '[0' : '(0'}, 100]`);
  }
  return percent / 100;
}

/** The parts of a draft the dry run depends on (the cohort, the scheme and the local training). */
export function planKey(form: JobForm): string {
  return JSON.stringify([form.modelId, form.version, form.fractionPercent, form.minDevices, form.tags, form.mcus, form.onlineOnly, form.minBatteryPercent, form.scheme, form.samples, form.epochs]);
}

/** The rounds.create input of a form; throws with the field's problem when it cannot be one. */
export function jobDraftFromForm(form: JobForm): JobDraft {
  if (!form.modelId) throw new Error('model: choose the base model');
  if (form.version === null) throw new Error('version: choose the base model version');
  const name = form.name.trim();
  return {
    ...(name ? { name } : {}),
    modelId: form.modelId,
    version: form.version,
    cohort: {
      fraction: share(form.fractionPercent, 'cohort fraction', { allowZero: false }),
      minDevices: Math.max(1, Math.round(form.minDevices)),
      tags: [...form.tags],
      mcus: [...form.mcus],
      onlineOnly: form.onlineOnly,
      minBattery: share(form.minBatteryPercent, 'minimum battery', { allowZero: true }),
    },
    scheme: form.scheme,
    local: {
      epochs: Math.round(form.epochs),
      samples: Math.round(form.samples),
      ...(form.lr !== null ? { lr: form.lr } : {}),
      qas: form.qas,
    },
    rounds: Math.round(form.rounds),
    roundDeadlineMs: Math.round(form.deadlineSeconds * 1000),
    minCompletion: share(form.minCompletionPercent, 'minimum completion', { allowZero: true }),
    mode: form.mode,
    async: { buffer: Math.round(form.asyncBuffer), maxStaleness: Math.round(form.maxStaleness) },
    stop: {
      ...(form.targetAccuracyPercent !== null ? { targetAccuracy: share(form.targetAccuracyPercent, 'target accuracy', { allowZero: false }) } : {}),
      ...(form.patience !== null ? { patience: Math.round(form.patience) } : {}),
    },
  };
}

/** The rounds and stragglers settings as a sentence for the review step. */
export function describeJob(draft: JobDraft): string {
  const rounds = `${draft.rounds} round${draft.rounds === 1 ? '' : 's'}`;
  const mode =
    draft.mode === 'sync'
      ? `synchronous: each round waits up to ${Math.round(draft.roundDeadlineMs / 1000)} s and needs ${Math.round(draft.minCompletion * 100)}% of its devices`
      : `buffered asynchronous: every ${draft.async.buffer} uploads aggregate, uploads more than ${draft.async.maxStaleness} versions old are refused`;
  const stops = [
    draft.stop.targetAccuracy !== undefined ? `at ${Math.round(draft.stop.targetAccuracy * 1000) / 10}% global accuracy` : '',
    draft.stop.patience !== undefined ? `after ${draft.stop.patience} round(s) without improvement` : '',
  ].filter(Boolean);
  return `${rounds}, ${mode}${stops.length ? `; stops early ${stops.join(' or ')}` : ''}.`;
}
