import { defineStore } from 'pinia';
import { ref, shallowRef, triggerRef, watch } from 'vue';
import type { CallInput, DeviceSummary, FleetStats } from '@contract';
import { errorMessage, useApi } from '../app/api-context';
import { FrameBatcher } from '../lib/frame-batcher';
import { DeviceIndex, type DevicesBatch } from '../features/fleet/device-index';
import {
  buildView,
  collectFacets,
  emptyFilter,
  patchView,
  type DeviceFacets,
  type DeviceFilter,
  type DeviceSort,
  type DeviceView,
} from '../features/fleet/device-view';

/** A rebuild of the view (filter + sort of every row) runs at most this often under live updates. */
const MIN_REBUILD_INTERVAL_MS = 400;
/** Batches kept while the registry loads. */
const MAX_HELD_BATCHES = 2000;

/**
 * The fleet as the UI sees it: a cache of the registry fed by `fleet.devices` events. Rows live in a
 * plain Map (never proxied); a burst of events is applied once per frame and the table's view is
 * patched in place when possible, so 10,000 devices reporting every second cost a few rows of
 * rendering per frame.
 */
export const useFleetStore = defineStore('fleet', () => {
  const api = useApi();
  const index = new DeviceIndex();
  let view: DeviceView = { rows: [], positions: new Map() };

  /** Rows of the table (filtered, sorted). Replaced or triggered, never deeply reactive. */
  const rows = shallowRef<readonly DeviceSummary[]>([]);
  /** Increments whenever any device changed: lets a page re-read `device(id)` cheaply. */
  const revision = ref(0);
  const deviceCount = ref(0);
  const facets = shallowRef<DeviceFacets>({ mcus: [], tags: [], models: [] });
  const stats = shallowRef<FleetStats | null>(null);
  const filter = ref<DeviceFilter>(emptyFilter());
  const sort = ref<DeviceSort>({ key: 'id', order: 'asc' });
  const loading = ref(false);
  /** Ids selected for bulk actions (replaced on every change, so watchers see it). */
  const selected = shallowRef<ReadonlySet<string>>(new Set());
  let anchor: string | null = null;
  const loadError = ref<string | null>(null);

  let loaded = false;
  let heldBeforeLoad: DevicesBatch[] = [];
  let lastRebuild = 0;
  let rebuildTimer: ReturnType<typeof setTimeout> | undefined;
  const unsubscribers: (() => void)[] = [];
  const batcher = new FrameBatcher<DevicesBatch>(applyBatches);

  function rebuild(): void {
    clearTimeout(rebuildTimer);
    rebuildTimer = undefined;
    lastRebuild = performance.now();
    view = buildView(index.values(), filter.value, sort.value, index.idRanks());
    rows.value = view.rows;
  }

  function scheduleRebuild(): void {
    if (rebuildTimer !== undefined) return;
    const wait = lastRebuild + MIN_REBUILD_INTERVAL_MS - performance.now();
    if (wait <= 0) rebuild();
    else rebuildTimer = setTimeout(rebuild, wait);
  }

  function applyBatches(batches: DevicesBatch[]): void {
    if (!loaded) {
      // A reload is in flight: keep the batches to replay on its snapshot (bounded: when they pile
      // up, the snapshot being loaded is newer than most of them anyway).
      if (heldBeforeLoad.length < MAX_HELD_BATCHES) heldBeforeLoad.push(...batches);
      return;
    }
    const { changes, facetsChanged } = index.apply(batches);
    if (changes.length === 0) return;
    deviceCount.value = index.size;
    if (facetsChanged) facets.value = collectFacets(index.values());
    if (patchView(view, changes, filter.value, sort.value)) scheduleRebuild();
    triggerRef(rows);
    revision.value++;
  }

  /** Loads the registry and follows its changes; safe to call more than once. */
  async function start(): Promise<void> {
    if (unsubscribers.length > 0) return;
    unsubscribers.push(
      api.subscribe('fleet.devices', (batch) => batcher.push(batch)),
      api.subscribe('fleet.stats', (s) => (stats.value = s)),
    );
    await reload();
    api.call('fleet.stats', {}).then(
      (s) => (stats.value ??= s),
      () => undefined,
    );
  }

  /** Re-reads the whole registry (after an import, or when asked). */
  async function reload(): Promise<void> {
    loading.value = true;
    loadError.value = null;
    loaded = false;
    try {
      const { devices } = await api.call('fleet.list', { limit: 50_000 });
      index.reset(devices);
      loaded = true;
      const held = heldBeforeLoad;
      heldBeforeLoad = [];
      index.apply(held);
      deviceCount.value = index.size;
      facets.value = collectFacets(index.values());
      rebuild();
      revision.value++;
    } catch (e) {
      heldBeforeLoad = [];
      loadError.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  /** The latest row of one device (read it inside a computed that also reads `revision`). */
  function device(id: string): DeviceSummary | undefined {
    return index.get(id);
  }

  function setSort(key: DeviceSort['key']): void {
    sort.value =
      sort.value.key === key ? { key, order: sort.value.order === 'asc' ? 'desc' : 'asc' } : { key, order: 'asc' };
  }

  /**
   * Toggles one row; with `range`, selects every row of the current view between the last toggled
   * row and this one (shift-click).
   */
  function select(id: string, range = false): void {
    const next = new Set(selected.value);
    const from = anchor === null ? undefined : view.positions.get(anchor);
    const to = view.positions.get(id);
    if (range && from !== undefined && to !== undefined) {
      for (let i = Math.min(from, to); i <= Math.max(from, to); i++) next.add(view.rows[i].id);
    } else if (next.has(id)) next.delete(id);
    else next.add(id);
    anchor = id;
    selected.value = next;
  }

  /** Selects every row the filters match (the whole view, not only the rows on screen). */
  function selectAllMatching(): void {
    selected.value = new Set(view.rows.map((d) => d.id));
  }

  function clearSelection(): void {
    selected.value = new Set();
    anchor = null;
  }

  function clearFilters(): void {
    filter.value = emptyFilter();
  }

  watch([filter, sort], rebuild, { deep: true });

  async function add(input: CallInput<'fleet.add'>) {
    return api.call('fleet.add', input);
  }

  async function importCsv(csv: string) {
    return api.call('fleet.import', { csv });
  }

  async function exportCsv(): Promise<string> {
    return (await api.call('fleet.export', {})).csv;
  }

  async function remove(id: string) {
    return api.call('fleet.remove', { id });
  }

  async function bulkCommand(ids: string[], command: string) {
    return api.call('fleet.bulkCommand', { ids, command });
  }

  async function bulkTag(ids: string[], add: string[], remove: string[] = []) {
    return api.call('fleet.bulkTag', { ids, add, remove });
  }

  async function bulkRemove(ids: string[]) {
    return api.call('fleet.bulkRemove', { ids });
  }

  /** Telemetry history of some devices as CSV (ISO times) within [since, until]. */
  async function exportTelemetry(ids: string[], since?: number, until?: number) {
    return api.call('fleet.exportTelemetry', { ids, since, until });
  }

  /** The broker host, port, username and topics a device must use. */
  async function connection(id: string) {
    return api.call('fleet.connection', { id });
  }

  /** Stops following events. */
  function dispose(): void {
    for (const unsubscribe of unsubscribers.splice(0)) unsubscribe();
    batcher.dispose();
    clearTimeout(rebuildTimer);
  }

  return {
    rows,
    revision,
    deviceCount,
    facets,
    stats,
    filter,
    sort,
    loading,
    loadError,
    selected,
    select,
    selectAllMatching,
    clearSelection,
    bulkCommand,
    bulkTag,
    bulkRemove,
    start,
    reload,
    device,
    setSort,
    clearFilters,
    add,
    importCsv,
    exportCsv,
    remove,
    connection,
    exportTelemetry,
    dispose,
  };
});
