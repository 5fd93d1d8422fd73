import { exportTelemetryCsv, type BulkActions } from '../../fleet';
import type { Store } from '../../store';
import type { Handlers } from '../handler';

export type FleetBulkCallName = 'fleet.bulkCommand' | 'fleet.bulkTag' | 'fleet.bulkRemove' | 'fleet.exportTelemetry';

/** Handlers of the calls on many devices at once; the caller's actor goes to the audit log per device. */
export function createFleetBulkHandlers(deps: { store: Store; bulk: BulkActions }): Handlers<FleetBulkCallName> {
  const { store, bulk } = deps;
  return {
    'fleet.bulkCommand': (input, ctx) => bulk.command(input, ctx.actor, ctx.signal),
    'fleet.bulkTag': (input, ctx) => bulk.tag(input, ctx.actor),
    'fleet.bulkRemove': (input, ctx) => bulk.remove(input, ctx.actor),
    'fleet.exportTelemetry': (input) => exportTelemetryCsv(store, input),
  };
}
