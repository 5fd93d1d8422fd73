import type { DeploymentDevice } from '@contract';
import type { ExecutionState } from './deployment-view';

/**
 * One deployment's per-device executions, by device id, in a plain Map (never reactive): pages
 * and event batches are merged in (a row older than the one held is ignored, as events and a page
 * read may cross), and `rows` gives the table's view, filtered by state, by wave then device id.
 */
export class ExecutionIndex {
  private readonly byDevice = new Map<string, DeploymentDevice>();

  /** Devices held. */
  get size(): number {
    return this.byDevice.size;
  }

  /** Merges executions in; returns how many changed what is held. */
  apply(executions: Iterable<DeploymentDevice>): number {
    let changed = 0;
    for (const e of executions) {
      const known = this.byDevice.get(e.deviceId);
      if (known && known.updatedAt > e.updatedAt) continue;
      this.byDevice.set(e.deviceId, e);
      changed++;
    }
    return changed;
  }

  /** The executions in `state` (all when null), ordered by wave, then device id. */
  rows(state: ExecutionState | null): DeploymentDevice[] {
    const rows: DeploymentDevice[] = [];
    for (const e of this.byDevice.values()) if (state === null || e.state === state) rows.push(e);
    return rows.sort((a, b) => a.wave - b.wave || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  }

  clear(): void {
    this.byDevice.clear();
  }
}
