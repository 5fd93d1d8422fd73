import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { CallInput, CohortPlan, FederatedJob, FederatedJobSummary, ModelVersion, Participant, PersonalizationSession, RoundSummary } from '@contract';
import { errorMessage, useApi } from '../app/api-context';
import { FrameBatcher } from '../lib/frame-batcher';
import type { JobDraft } from '../features/training/job-form';

/** The participants of the round shown are re-read at most this often while it runs. */
const PARTICIPANTS_INTERVAL_MS = 1000;

type JobChange = { job: FederatedJobSummary; round?: RoundSummary };

/**
 * Fleet learning as the UI sees it: the federated jobs (kept current by `rounds.changed`), the job
 * shown with its rounds and the devices of one round, the model's versions with their lineage, and
 * the personalization sessions (kept current by `personalize.changed`). Bursts of events are
 * applied once per frame.
 */
export const useTrainingStore = defineStore('training', () => {
  const api = useApi();
  const jobs = shallowRef<FederatedJobSummary[]>([]);
  const listError = ref<string | null>(null);
  const loading = ref(false);

  const current = shallowRef<FederatedJob | null>(null);
  const currentError = ref<string | null>(null);
  /** The round whose participants are shown, and them. */
  const participantsRound = ref<number | null>(null);
  const participants = shallowRef<Participant[]>([]);
  /** The versions of the shown job's model (lineage, "deploy this version"). */
  const versions = shallowRef<ModelVersion[]>([]);

  const sessions = shallowRef<PersonalizationSession[]>([]);
  const sessionsError = ref<string | null>(null);
  /** Devices reset to the global model from this window, with when (sessions after it count again). */
  const resets = shallowRef<ReadonlyMap<string, number>>(new Map());

  let jobsOff: (() => void) | null = null;
  let sessionsOff: (() => void) | null = null;
  let participantsTimer: ReturnType<typeof setTimeout> | undefined;
  let participantsDue = 0;
  let versionsOf: string | null = null;

  const jobBatcher = new FrameBatcher<JobChange>((changes) => applyJobChanges(changes));
  const sessionBatcher = new FrameBatcher<PersonalizationSession>((changed) => upsertSessions(changed));

  /** A job's list entry (`rounds` there is the spec's count, not the round summaries). */
  function summaryOf(job: FederatedJob): FederatedJobSummary {
    const { spec, classes: _classes, rounds: _rounds, ...summary } = job;
    return { ...summary, rounds: spec.rounds };
  }

  function upsertJobs(changed: readonly FederatedJobSummary[]): void {
    if (changed.length === 0) return;
    const byId = new Map(jobs.value.map((j) => [j.id, j]));
    for (const j of changed) {
      const known = byId.get(j.id);
      if (!known || known.updatedAt <= j.updatedAt) byId.set(j.id, j);
    }
    jobs.value = [...byId.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  function applyJobChanges(changes: readonly JobChange[]): void {
    upsertJobs(changes.map((c) => c.job));
    const shown = current.value;
    if (!shown) return;
    let next: FederatedJob | null = null;
    let missing = false;
    for (const { job, round } of changes) {
      if (job.id !== shown.id || job.updatedAt < (next ?? shown).updatedAt) continue;
      const base: FederatedJob = next ?? shown;
      let rounds = base.rounds;
      if (round) {
        const at = rounds.findIndex((r) => r.round === round.round);
        rounds = at >= 0 ? rounds.map((r, i) => (i === at ? round : r)) : [...rounds, round].sort((a, b) => a.round - b.round);
      } else if (job.currentRound >= rounds.length) {
        missing = true;
      }
      next = { ...base, ...job, rounds };
      if (round && round.round === participantsRound.value) scheduleParticipants();
    }
    if (next) current.value = next;
    // A round the events skipped (e.g. the window was hidden): read the job again.
    if (missing) void reloadCurrent();
    if (next && next.latestVersion !== shown.latestVersion) void loadVersions(next.modelId, true);
  }

  /** Loads the jobs and follows changes; safe to call more than once. */
  async function start(): Promise<void> {
    jobsOff ??= api.subscribe('rounds.changed', (p) => jobBatcher.push(p));
    loading.value = true;
    try {
      const list = await api.call('rounds.list', {});
      jobs.value = [];
      upsertJobs(list);
      listError.value = null;
    } catch (e) {
      listError.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  async function reloadCurrent(): Promise<void> {
    const shown = current.value;
    if (!shown) return;
    try {
      const job = await api.call('rounds.get', { id: shown.id });
      if (current.value?.id === job.id) current.value = job;
    } catch (e) {
      currentError.value = errorMessage(e);
    }
  }

  /** Shows one job: follows its changes, loads its rounds, the last round's devices and the model's versions. */
  async function open(id: string): Promise<void> {
    close();
    currentError.value = null;
    await start();
    try {
      const job = await api.call('rounds.get', { id });
      current.value = job;
      upsertJobs([summaryOf(job)]);
      await Promise.all([showParticipants(job.rounds.at(-1)?.round ?? null), loadVersions(job.modelId)]);
    } catch (e) {
      currentError.value = errorMessage(e);
    }
  }

  /** Shows the devices of one round of the current job (null: none). */
  async function showParticipants(round: number | null): Promise<void> {
    participantsRound.value = round;
    participants.value = [];
    await loadParticipants();
  }

  async function loadParticipants(): Promise<void> {
    clearTimeout(participantsTimer);
    participantsTimer = undefined;
    participantsDue = performance.now() + PARTICIPANTS_INTERVAL_MS;
    const job = current.value;
    const round = participantsRound.value;
    if (!job || round === null) return;
    try {
      const list = await api.call('rounds.participants', { id: job.id, round });
      if (current.value?.id === job.id && participantsRound.value === round) participants.value = list;
    } catch (e) {
      currentError.value = errorMessage(e);
    }
  }

  function scheduleParticipants(): void {
    if (participantsTimer !== undefined) return;
    participantsTimer = setTimeout(() => void loadParticipants(), Math.max(0, participantsDue - performance.now()));
  }

  /** The versions of a model, newest first (each with its lineage when it came from fleet learning). */
  async function loadVersions(modelId: string, force = false): Promise<void> {
    if (!force && versionsOf === modelId) return;
    versionsOf = modelId;
    try {
      const detail = await api.call('models.get', { id: modelId });
      if (versionsOf === modelId) versions.value = [...detail.versions].sort((a, b) => b.version - a.version);
    } catch (e) {
      currentError.value = errorMessage(e);
    }
  }

  /** Stops following the job shown. */
  function close(): void {
    clearTimeout(participantsTimer);
    participantsTimer = undefined;
    current.value = null;
    participantsRound.value = null;
    participants.value = [];
  }

  /** The cohort and, per MCU class, the scheme with its training memory for a draft; creates nothing. */
  async function plan(draft: JobDraft): Promise<CohortPlan> {
    return (await api.call('rounds.create', { ...draft, dryRun: true })).plan;
  }

  /** Starts a job; throws with the core's message when it is refused. */
  async function create(draft: JobDraft): Promise<FederatedJob> {
    const { job, plan: p } = await api.call('rounds.create', { ...draft, dryRun: false });
    if (!job) throw new Error(`no job was started (${p.eligible} eligible device(s) of ${p.matching} matching)`);
    upsertJobs([summaryOf(job)]);
    return job;
  }

  /** Cancels a job: its running round is canceled on the devices. */
  async function cancel(id: string): Promise<void> {
    const job = await api.call('rounds.cancel', { id });
    upsertJobs([summaryOf(job)]);
    if (current.value?.id === id) current.value = job;
  }

  function upsertSessions(changed: readonly PersonalizationSession[]): void {
    if (changed.length === 0) return;
    const byId = new Map(sessions.value.map((s) => [s.id, s]));
    for (const s of changed) {
      const known = byId.get(s.id);
      if (!known || known.updatedAt <= s.updatedAt) byId.set(s.id, s);
    }
    sessions.value = [...byId.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Loads the personalization sessions and follows changes; safe to call more than once. */
  async function startSessions(): Promise<void> {
    sessionsOff ??= api.subscribe('personalize.changed', (p) => sessionBatcher.push(p));
    try {
      const list = await api.call('personalize.list', {});
      sessions.value = [];
      upsertSessions(list);
      sessionsError.value = null;
    } catch (e) {
      sessionsError.value = errorMessage(e);
    }
  }

  /** Starts a personalization session; throws with the core's message when it is refused. */
  async function personalize(spec: CallInput<'personalize.start'>): Promise<PersonalizationSession> {
    const session = await api.call('personalize.start', spec);
    upsertSessions([session]);
    return session;
  }

  /** Cancels a running session; throws with the core's message when it is refused. */
  async function cancelSession(id: string): Promise<void> {
    upsertSessions([await api.call('personalize.cancel', { id })]);
  }

  /** Drops a device's personalization overlay: it runs the global model and rejoins rounds. */
  async function resetToGlobal(deviceId: string): Promise<void> {
    await api.call('personalize.reset', { deviceId });
    resets.value = new Map([...resets.value, [deviceId, Date.now()]]);
  }

  /** Stops everything. */
  function dispose(): void {
    close();
    jobsOff?.();
    jobsOff = null;
    sessionsOff?.();
    sessionsOff = null;
    jobBatcher.dispose();
    sessionBatcher.dispose();
  }

  return {
    jobs,
    listError,
    loading,
    current,
    currentError,
    participantsRound,
    participants,
    versions,
    sessions,
    sessionsError,
    resets,
    start,
    open,
    showParticipants,
    loadVersions,
    close,
    plan,
    create,
    cancel,
    startSessions,
    personalize,
    resetToGlobal,
    cancelSession,
    dispose,
  };
});
