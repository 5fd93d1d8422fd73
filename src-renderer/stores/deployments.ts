import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { CallInput, Deployment, DeploymentDevice, FitGateRow } from '@contract';
import { errorMessage, useApi } from '../app/api-context';
import { FrameBatcher } from '../lib/frame-batcher';
import type { DeploymentAction, ExecutionState } from '../features/deployments/deployment-view';
import { ExecutionIndex } from '../features/deployments/execution-index';

/** The per-device table is rebuilt (filtered, sorted) at most this often under live updates. */
const MIN_ROWS_INTERVAL_MS = 300;
/** Executions fetched per deploy.devices call when a deployment is opened. */
const PAGE = 5000;

/** What the create form sends (dryRun is set by the store). */
export type DeploymentDraft = Omit<CallInput<'deploy.create'>, 'dryRun'>;

/**
 * Deployments as the UI sees them: the list (kept current by `deploy.changed`) and the deployment
 * shown, with all its per-device executions in an ExecutionIndex fed by `deploy.devices/<id>`. Bursts of
 * events are applied once per frame and the table's rows are rebuilt at most every 300 ms, so a
 * rollout to thousands of devices costs a few rows of rendering per frame.
 */
export const useDeploymentsStore = defineStore('deployments', () => {
  const api = useApi();
  const deployments = shallowRef<Deployment[]>([]);
  const listError = ref<string | null>(null);
  const loading = ref(false);

  /** The deployment shown on the detail page. */
  const current = shallowRef<Deployment | null>(null);
  const currentError = ref<string | null>(null);
  /** Its executions, filtered by `stateFilter`, ordered by wave then device id. */
  const deviceRows = shallowRef<readonly DeploymentDevice[]>([]);
  const deviceTotal = ref(0);
  const stateFilter = ref<ExecutionState | null>(null);

  const executions = new ExecutionIndex();
  let listOff: (() => void) | null = null;
  let devicesOff: (() => void) | null = null;
  let lastRowsBuild = 0;
  let rowsTimer: ReturnType<typeof setTimeout> | undefined;
  let devicesLoaded = false;
  let heldDevices: DeploymentDevice[] = [];

  const listBatcher = new FrameBatcher<Deployment[]>((batches) => upsert(batches.flat()));
  let devicesBatcher: FrameBatcher<DeploymentDevice[]> | null = null;

  /** Puts newer versions of deployments into the list and the one shown. */
  function upsert(changed: readonly Deployment[]): void {
    if (changed.length === 0) return;
    const byId = new Map(deployments.value.map((d) => [d.id, d]));
    for (const d of changed) {
      const known = byId.get(d.id);
      if (!known || known.updatedAt <= d.updatedAt) byId.set(d.id, d);
    }
    deployments.value = [...byId.values()].sort((a, b) => b.createdAt - a.createdAt);
    const shown = current.value && byId.get(current.value.id);
    if (shown && shown !== current.value) current.value = shown;
  }

  /** Loads the list and follows changes; safe to call more than once. */
  async function start(): Promise<void> {
    listOff ??= api.subscribe('deploy.changed', (p) => listBatcher.push(p.deployments));
    await refresh();
  }

  async function refresh(): Promise<void> {
    loading.value = true;
    try {
      const { deployments: list } = await api.call('deploy.list', { limit: 500 });
      deployments.value = [];
      upsert(list);
      listError.value = null;
    } catch (e) {
      listError.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  function buildRows(): void {
    clearTimeout(rowsTimer);
    rowsTimer = undefined;
    lastRowsBuild = performance.now();
    deviceRows.value = executions.rows(stateFilter.value);
    deviceTotal.value = executions.size;
  }

  function scheduleRows(): void {
    if (rowsTimer !== undefined) return;
    const wait = lastRowsBuild + MIN_ROWS_INTERVAL_MS - performance.now();
    if (wait <= 0) buildRows();
    else rowsTimer = setTimeout(buildRows, wait);
  }

  function applyDevices(changed: readonly DeploymentDevice[]): void {
    if (!devicesLoaded) return void heldDevices.push(...changed);
    if (executions.apply(changed) > 0) scheduleRows();
  }

  /** Shows one deployment: subscribes first (nothing is missed), then loads it and its executions. */
  async function open(id: string): Promise<void> {
    close();
    currentError.value = null;
    devicesLoaded = false;
    const batcher = new FrameBatcher<DeploymentDevice[]>((chunks) => applyDevices(chunks.flat()));
    devicesBatcher = batcher;
    devicesOff = api.subscribe(`deploy.devices/${id}`, (p) => batcher.push(p.devices));
    try {
      const deployment = await api.call('deploy.get', { id });
      if (devicesBatcher !== batcher) return;
      current.value = deployment;
      upsert([deployment]);
      for (let offset = 0; ; offset += PAGE) {
        const page = await api.call('deploy.devices', { id, offset, limit: PAGE });
        if (devicesBatcher !== batcher) return;
        executions.apply(page.devices);
        if (page.devices.length < PAGE || offset + PAGE >= page.total) break;
      }
      devicesLoaded = true;
      const held = heldDevices;
      heldDevices = [];
      applyDevices(held);
      buildRows();
    } catch (e) {
      if (devicesBatcher === batcher) currentError.value = errorMessage(e);
    }
  }

  /** Shows only the executions in one state (null: all). */
  function setStateFilter(state: ExecutionState | null): void {
    stateFilter.value = state;
    buildRows();
  }

  /** Stops following the deployment shown. */
  function close(): void {
    devicesOff?.();
    devicesOff = null;
    devicesBatcher?.dispose();
    devicesBatcher = null;
    clearTimeout(rowsTimer);
    rowsTimer = undefined;
    executions.clear();
    heldDevices = [];
    current.value = null;
    deviceRows.value = [];
    deviceTotal.value = 0;
    stateFilter.value = null;
  }

  /** The fit gate's verdict per MCU for a draft; creates nothing. */
  async function fitGate(draft: DeploymentDraft): Promise<FitGateRow[]> {
    return (await api.call('deploy.create', { ...draft, dryRun: true })).fitGate;
  }

  /** Creates a deployment; throws with the core's message when it is refused. */
  async function create(draft: DeploymentDraft): Promise<Deployment> {
    const { deployment, fitGate: gate } = await api.call('deploy.create', { ...draft, dryRun: false });
    if (!deployment) throw new Error(`no deployment was created (${gate.map((g) => `${g.mcu}: ${g.eligible} eligible`).join(', ') || 'no targets'})`);
    upsert([deployment]);
    return deployment;
  }

  /** Runs an operator action on a deployment and shows its result. */
  async function act(id: string, action: DeploymentAction): Promise<Deployment> {
    const deployment = await api.call(`deploy.${action}`, { id });
    upsert([deployment]);
    return deployment;
  }

  /** The versions of a model the create form offers (newest first). */
  async function modelVersions(modelId: string): Promise<{ version: number; fileName: string }[]> {
    const detail = await api.call('models.get', { id: modelId });
    return detail.versions.map((v) => ({ version: v.version, fileName: v.fileName })).sort((a, b) => b.version - a.version);
  }

  /** A device's executions across deployments, newest first. */
  async function deviceHistory(deviceId: string, limit = 20) {
    return (await api.call('deploy.deviceHistory', { deviceId, limit })).executions;
  }

  /** Stops everything. */
  function dispose(): void {
    close();
    listOff?.();
    listOff = null;
    listBatcher.dispose();
  }

  return {
    deployments,
    listError,
    loading,
    current,
    currentError,
    deviceRows,
    deviceTotal,
    stateFilter,
    start,
    refresh,
    open,
    setStateFilter,
    close,
    fitGate,
    create,
    act,
    modelVersions,
    deviceHistory,
    dispose,
  };
});
