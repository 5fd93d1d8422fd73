import type { DeviceStatus, DeviceSummary } from '@contract';
import type { DeviceChange } from './device-index';
import { naturalCompare } from '../../lib/natural-compare';

/** Filter value standing for "no model reported". */
export const NO_MODEL = '(none)';

/** Filters of the fleet table. Within one filter any chosen value matches; all filters must match. */
export interface DeviceFilter {
  statuses: DeviceStatus[];
  mcus: string[];
  tags: string[];
  /** Model ids (id@version) or NO_MODEL. */
  models: string[];
  /** Case-insensitive substring of the id or the name. */
  search: string;
}

export type SortKey = 'id' | 'name' | 'status' | 'mcu' | 'model' | 'lastSeen' | 'battery' | 'temperature' | 'rssi';
export type SortOrder = 'asc' | 'desc';

export interface DeviceSort {
  key: SortKey;
  order: SortOrder;
}

/** A filter that keeps every device. */
export function emptyFilter(): DeviceFilter {
  return { statuses: [], mcus: [], tags: [], models: [], search: '' };
}

/** Compiles a filter into a predicate (sets and lowercase search built once, not per row). */
export function createMatcher(filter: DeviceFilter): (device: DeviceSummary) => boolean {
  const statuses = filter.statuses.length ? new Set<string>(filter.statuses) : null;
  const mcus = filter.mcus.length ? new Set(filter.mcus) : null;
  const tags = filter.tags.length ? new Set(filter.tags) : null;
  const models = filter.models.length ? new Set(filter.models) : null;
  const search = filter.search.trim().toLowerCase();
  return (device) => {
    if (statuses && !statuses.has(device.status)) return false;
    if (mcus && !mcus.has(device.mcu)) return false;
    if (models && !models.has(device.model ?? NO_MODEL)) return false;
    if (tags && !device.tags.some((tag) => tags.has(tag))) return false;
    if (search && !device.id.includes(search) && !device.name.toLowerCase().includes(search)) return false;
    return true;
  };
}

/** Presence order used when sorting by status: what needs attention first. */
const STATUS_RANK: Record<DeviceStatus, number> = { lost: 0, offline: 1, unknown: 2, online: 3 };

/** The value a device is sorted by; null sorts last whatever the order. */
export function sortValue(device: DeviceSummary, key: SortKey): string | number | null {
  switch (key) {
    case 'status':
      return STATUS_RANK[device.status];
    case 'model':
      return device.model;
    default:
      return device[key];
  }
}

/**
 * A comparator for the sort; ties are broken by id so the order is stable across rebuilds.
 * `idRanks` (from DeviceIndex) turns id comparisons into number comparisons.
 */
export function createComparator(
  sort: DeviceSort,
  idRanks?: ReadonlyMap<string, number>,
): (a: DeviceSummary, b: DeviceSummary) => number {
  const direction = sort.order === 'asc' ? 1 : -1;
  const byId = idRanks
    ? (a: DeviceSummary, b: DeviceSummary) => (idRanks.get(a.id) ?? 0) - (idRanks.get(b.id) ?? 0)
    : (a: DeviceSummary, b: DeviceSummary) => naturalCompare(a.id, b.id);
  if (sort.key === 'id') return (a, b) => byId(a, b) * direction;
  return (a, b) => {
    const va = sortValue(a, sort.key);
    const vb = sortValue(b, sort.key);
    if (va !== vb) {
      if (va === null) return 1;
      if (vb === null) return -1;
      const c = typeof va === 'number' && typeof vb === 'number' ? va - vb : naturalCompare(String(va), String(vb));
      if (c !== 0) return c * direction;
    }
    return byId(a, b);
  };
}

/** The filtered and sorted rows, plus where each id sits (for in-place patches). */
export interface DeviceView {
  rows: DeviceSummary[];
  positions: Map<string, number>;
}

/** Filters and sorts all rows from scratch (pass `idRanks` from DeviceIndex for speed). */
export function buildView(
  devices: Iterable<DeviceSummary>,
  filter: DeviceFilter,
  sort: DeviceSort,
  idRanks?: ReadonlyMap<string, number>,
): DeviceView {
  const matches = createMatcher(filter);
  const rows: DeviceSummary[] = [];
  for (const device of devices) if (matches(device)) rows.push(device);
  rows.sort(createComparator(sort, idRanks));
  const positions = new Map<string, number>();
  for (let i = 0; i < rows.length; i++) positions.set(rows[i].id, i);
  return { rows, positions };
}

/**
 * Applies changes to a view in place where that keeps it correct: a row that stays in the view with
 * the same sort value is replaced where it sits. Returns true when the view must be rebuilt (a row
 * enters or leaves the view, or its sort value moved); rows are still patched in place meanwhile,
 * so a caller that delays the rebuild shows fresh values in a slightly stale order.
 */
export function patchView(
  view: DeviceView,
  changes: readonly DeviceChange[],
  filter: DeviceFilter,
  sort: DeviceSort,
): boolean {
  const matches = createMatcher(filter);
  let rebuild = false;
  for (const { before, after } of changes) {
    const id = (after ?? before)?.id;
    if (id === undefined) continue;
    const position = view.positions.get(id);
    if (after === null) {
      if (position !== undefined) rebuild = true;
      continue;
    }
    const nowIn = matches(after);
    if (position === undefined) {
      if (nowIn) rebuild = true;
      continue;
    }
    view.rows[position] = after;
    if (!nowIn || !before || sortValue(before, sort.key) !== sortValue(after, sort.key)) rebuild = true;
  }
  return rebuild;
}

/** The choices offered by the filters, from the rows at hand. */
export interface DeviceFacets {
  mcus: string[];
  tags: string[];
  models: string[];
}

/** Distinct MCUs, tags and models (NO_MODEL when some device reports none), sorted. */
export function collectFacets(devices: Iterable<DeviceSummary>): DeviceFacets {
  const mcus = new Set<string>();
  const tags = new Set<string>();
  const models = new Set<string>();
  for (const device of devices) {
    mcus.add(device.mcu);
    for (const tag of device.tags) tags.add(tag);
    models.add(device.model ?? NO_MODEL);
  }
  const sorted = (set: Set<string>) => [...set].sort(naturalCompare);
  return { mcus: sorted(mcus), tags: sorted(tags), models: sorted(models) };
}
