import type { ModelRegistry } from '../../models/model-registry';
import type { Handlers } from '../handler';

export interface ModelsHandlerDeps {
  registry: ModelRegistry;
}

/** The model registry calls: import and list versions, analyse in a worker, follow and cancel jobs. */
export function createModelsHandlers(
  deps: ModelsHandlerDeps,
): Handlers<'models.list' | 'models.get' | 'models.import' | 'models.analyze' | 'models.analysis' | 'models.cancelAnalysis' | 'models.remove'> {
  const { registry } = deps;
  return {
    'models.list': () => registry.list(),
    'models.get': (input) => registry.get(input.id, input.version),
    'models.import': (input, ctx) => registry.import(input, ctx.signal),
    'models.analyze': (input) => {
      const { modelId, version, ...options } = input;
      return { jobId: registry.analyze(modelId, version, options).jobId };
    },
    'models.analysis': (input) => registry.analysis(input.jobId),
    'models.cancelAnalysis': (input) => registry.cancelAnalysis(input.jobId),
    'models.remove': (input) => ({ removedVersions: registry.remove(input.id, input.version) }),
  };
}
