import type { DeployService } from '../../deploy';
import type { Handlers } from '../handler';

/** The deployment calls: create (or dry-run the fit gate), list and follow, and the operator's actions. */
export function createDeployHandlers(deps: { deploy: DeployService }): Handlers<
  'deploy.create' | 'deploy.list' | 'deploy.get' | 'deploy.devices' | 'deploy.deviceHistory' | 'deploy.pause' | 'deploy.resume' | 'deploy.promote' | 'deploy.abort' | 'deploy.cancel' | 'deploy.rollback'
> {
  const { deploy } = deps;
  return {
    'deploy.create': (input, ctx) => deploy.create(input, ctx.actor, ctx.signal),
    'deploy.list': (input) => ({ deployments: deploy.list(input.limit) }),
    'deploy.get': (input) => deploy.get(input.id),
    'deploy.devices': (input) => deploy.devices(input),
    'deploy.deviceHistory': (input) => ({ executions: deploy.deviceHistory(input.deviceId, input.limit) }),
    'deploy.pause': (input, ctx) => deploy.pause(input.id, ctx.actor),
    'deploy.resume': (input, ctx) => deploy.resume(input.id, ctx.actor),
    'deploy.promote': (input, ctx) => deploy.promote(input.id, ctx.actor),
    'deploy.abort': (input, ctx) => deploy.abort(input.id, ctx.actor),
    'deploy.cancel': (input, ctx) => deploy.cancel(input.id, ctx.actor),
    'deploy.rollback': (input, ctx) => deploy.rollback(input.id, ctx.actor),
  };
}
