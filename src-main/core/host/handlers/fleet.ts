import { deviceConnection, type FleetService } from '../../fleet';
import type { Handlers } from '../handler';

/** Every fleet call of the contract. */
export type FleetCallName =
  | 'fleet.list'
  | 'fleet.get'
  | 'fleet.stats'
  | 'fleet.add'
  | 'fleet.import'
  | 'fleet.export'
  | 'fleet.update'
  | 'fleet.remove'
  | 'fleet.rotateSecret'
  | 'fleet.connection'
  | 'fleet.telemetry'
  | 'fleet.events'
  | 'fleet.command'
  | 'fleet.commands'
  | 'fleet.audit';

/**
 * Handlers of the fleet calls over the fleet service; the caller's actor goes to the audit log.
 * `brokerUrl` is the broker devices use now (it changes with the settings).
 */
export function createFleetHandlers(deps: { fleet: FleetService; brokerUrl: () => string }): Handlers<FleetCallName> {
  const { fleet } = deps;
  return {
    'fleet.list': (input) => fleet.list(input),
    'fleet.get': (input) => fleet.get(input.id),
    'fleet.stats': () => fleet.stats(),
    'fleet.add': (input, ctx) => fleet.add(input, ctx.actor),
    'fleet.import': (input, ctx) => fleet.registry.importCsv(input.csv, ctx.actor),
    'fleet.export': () => ({ csv: fleet.registry.exportCsv() }),
    'fleet.update': (input, ctx) => fleet.registry.update(input.id, { name: input.name, tags: input.tags }, ctx.actor),
    'fleet.remove': (input, ctx) => ({ removed: fleet.registry.remove(input.id, ctx.actor) }),
    'fleet.rotateSecret': (input, ctx) => fleet.registry.rotateSecret(input.id, ctx.actor),
    'fleet.connection': (input) => {
      fleet.get(input.id); // NOT_FOUND for a device that is not provisioned
      return deviceConnection(input.id, deps.brokerUrl());
    },
    'fleet.telemetry': (input) => fleet.telemetry(input),
    'fleet.events': (input) => fleet.deviceEvents(input.id, input.limit),
    'fleet.command': (input, ctx) => fleet.command(input, ctx.actor, ctx.signal),
    'fleet.commands': (input) => fleet.commands(input.id, input.limit),
    'fleet.audit': (input) => fleet.auditLog(input.limit),
  };
}
