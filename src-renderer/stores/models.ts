import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { Analysis, CallInput, ModelDetail, ModelSummary } from '@contract';
import { errorMessage, useApi } from '../app/api-context';
import { importProblem, readFileAsBase64 } from '../features/models/file-import';

/** Largest file the page sends (the core enforces the same limit, MAX_MODEL_BYTES, on its side). */
export const MAX_IMPORT_BYTES = 8 * 1024 * 1024;

/** What an analysis is asked to do (the model and version come from the model shown). */
export type AnalysisRequest = Omit<CallInput<'models.analyze'>, 'modelId' | 'version'>;

const finished = (a: Analysis) => a.state === 'done' || a.state === 'failed' || a.state === 'cancelled';

/**
 * The model registry as the UI sees it: the list (refreshed on `models.changed`), the model shown
 * with its versions, and the analysis of the version shown (the latest stored one, or a job in
 * progress followed through `models.analysis/<jobId>`).
 */
export const useModelsStore = defineStore('models', () => {
  const api = useApi();
  const models = shallowRef<ModelSummary[]>([]);
  const listError = ref<string | null>(null);
  const detail = shallowRef<ModelDetail | null>(null);
  const detailError = ref<string | null>(null);
  /** The job in progress or the latest finished analysis of the version shown. */
  const analysis = shallowRef<Analysis | null>(null);
  const importing = ref(false);

  let changedOff: (() => void) | null = null;
  let jobOff: (() => void) | null = null;

  /** Loads the list and follows registry changes; safe to call more than once. */
  async function start(): Promise<void> {
    changedOff ??= api.subscribe('models.changed', () => void refreshList());
    await refreshList();
  }

  async function refreshList(): Promise<void> {
    try {
      models.value = await api.call('models.list', {});
      listError.value = null;
    } catch (e) {
      listError.value = errorMessage(e);
    }
  }

  /**
   * Imports a .tflite file (read as base64 by the browser, parsed by the core in a worker).
   * Throws with the core's message when the file is refused.
   */
  async function importFile(file: File, name?: string) {
    const problem = importProblem(file, MAX_IMPORT_BYTES);
    if (problem) throw new Error(problem);
    importing.value = true;
    try {
      const bytesBase64 = await readFileAsBase64(file);
      const result = await api.call('models.import', { fileName: file.name, bytesBase64, ...(name ? { name } : {}) });
      await refreshList();
      return result;
    } finally {
      importing.value = false;
    }
  }

  /** Shows a model (a version of it; the latest by default) with its latest stored analysis. */
  async function open(id: string, version?: number): Promise<void> {
    stopFollowing();
    detailError.value = null;
    try {
      const d = await api.call('models.get', version === undefined ? { id } : { id, version });
      detail.value = d;
      analysis.value = d.latestAnalysis;
    } catch (e) {
      detail.value = null;
      analysis.value = null;
      detailError.value = errorMessage(e);
    }
  }

  /** Starts an analysis of the version shown and follows its progress. */
  async function analyze(request: AnalysisRequest): Promise<void> {
    const d = detail.value;
    if (!d) throw new Error('no model is open');
    const { jobId } = await api.call('models.analyze', { ...request, modelId: d.model.id, version: d.version });
    follow(jobId);
  }

  function follow(jobId: string): void {
    stopFollowing();
    const take = (a: Analysis) => {
      const current = analysis.value;
      // Events and the catch-up read may arrive in any order: never step back from a finished state.
      if (current?.jobId === jobId && (finished(current) || (!finished(a) && a.fraction < current.fraction))) return;
      analysis.value = a;
      if (finished(a)) stopFollowing();
    };
    jobOff = api.subscribe(`models.analysis/${jobId}`, take);
    void api.call('models.analysis', { jobId }).then(take, (e: unknown) => (detailError.value = errorMessage(e)));
  }

  /** Cancels the analysis in progress. */
  async function cancel(): Promise<void> {
    const a = analysis.value;
    if (!a || finished(a)) return;
    analysis.value = await api.call('models.cancelAnalysis', { jobId: a.jobId });
    stopFollowing();
  }

  /** Removes a model (or one version of it). */
  async function remove(id: string, version?: number): Promise<void> {
    await api.call('models.remove', version === undefined ? { id } : { id, version });
    if (detail.value?.model.id === id) {
      if (version === undefined || detail.value.versions.length <= 1) close();
      else await open(id);
    }
    await refreshList();
  }

  function stopFollowing(): void {
    jobOff?.();
    jobOff = null;
  }

  /** Leaves the model shown (a running analysis goes on in the core). */
  function close(): void {
    stopFollowing();
    detail.value = null;
    analysis.value = null;
    detailError.value = null;
  }

  function dispose(): void {
    close();
    changedOff?.();
    changedOff = null;
  }

  return { models, listError, detail, detailError, analysis, importing, start, refreshList, importFile, open, analyze, cancel, remove, close, dispose };
});
