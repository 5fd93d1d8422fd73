import type { DeviceSummary } from '@contract';
import { naturalCompare } from '../../lib/natural-compare';

/** One `fleet.devices` event payload. */
export interface DevicesBatch {
  changed: readonly DeviceSummary[];
  removed: readonly string[];
}

/** What a device looked like before and after a set of batches (`after` null: removed). */
export interface DeviceChange {
  before: DeviceSummary | undefined;
  after: DeviceSummary | null;
}

/** The net effect of applying batches to the index. */
export interface AppliedChanges {
  /** One entry per device touched, whatever the number of batches that touched it. */
  changes: DeviceChange[];
  /** True when devices came or went, or their MCU, tags or model changed (filter choices move). */
  facetsChanged: boolean;
}

/**
 * The renderer's cache of the registry: a plain (non-reactive) Map keyed by device id. Vue never
 * proxies it, so 10,000 rows cost nothing to track; the store signals changes explicitly.
 */
export class DeviceIndex {
  private readonly byId = new Map<string, DeviceSummary>();
  private ranks: Map<string, number> | null = null;

  get size(): number {
    return this.byId.size;
  }

  get(id: string): DeviceSummary | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<DeviceSummary> {
    return this.byId.values();
  }

  /**
   * Each id's position in natural id order, computed once per change of membership: sorting and
   * tie-breaking by id then costs one subtraction instead of a string comparison.
   */
  idRanks(): ReadonlyMap<string, number> {
    if (!this.ranks) {
      const ids = [...this.byId.keys()].sort(naturalCompare);
      this.ranks = new Map(ids.map((id, i) => [id, i]));
    }
    return this.ranks;
  }

  /** Replaces the whole content (the answer of `fleet.list`). */
  reset(devices: readonly DeviceSummary[]): void {
    this.ranks = null;
    this.byId.clear();
    for (const device of devices) this.byId.set(device.id, device);
  }

  /**
   * Applies batches in order and coalesces them per device: a device changed three times in
   * one frame yields one change from its first `before` to its last `after`.
   */
  apply(batches: readonly DevicesBatch[]): AppliedChanges {
    const touched = new Map<string, DeviceChange>();
    let facetsChanged = false;
    for (const batch of batches) {
      for (const device of batch.changed) {
        const previous = this.byId.get(device.id);
        if (!previous) this.ranks = null;
        if (!previous || facetOf(previous) !== facetOf(device)) facetsChanged = true;
        const entry = touched.get(device.id);
        if (entry) entry.after = device;
        else touched.set(device.id, { before: previous, after: device });
        this.byId.set(device.id, device);
      }
      for (const id of batch.removed) {
        const previous = this.byId.get(id);
        if (!previous) continue;
        facetsChanged = true;
        this.ranks = null;
        const entry = touched.get(id);
        if (entry) entry.after = null;
        else touched.set(id, { before: previous, after: null });
        this.byId.delete(id);
      }
    }
    return { changes: [...touched.values()], facetsChanged };
  }
}

/** The fields filter choices are made of, as one comparable string. */
function facetOf(device: DeviceSummary): string {
  return `${device.mcu}\u0000${device.model ?? ''}\u0000${device.tags.join('\u0001')}`;
}
