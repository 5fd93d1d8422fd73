import type { ModelRegistry } from '../../models/model-registry';
import type { AuditRepo } from '../../store/audit-repo';
import type { Handlers } from '../handler';

export interface ModelsHandlerDeps {
  registry: ModelRegistry;
  /** Imports and removals are operator actions: they go to the audit log. */
  audit: AuditRepo;
}

/** The model registry calls: import and list versions, analyse in a worker, follow and cancel jobs, build for an MCU, fetch stored packages. */
export function createModelsHandlers(
  deps: ModelsHandlerDeps,
): Handlers<'models.list' | 'models.get' | 'models.import' | 'models.analyze' | 'models.analysis' | 'models.cancelAnalysis' | 'models.build' | 'models.packages' | 'models.package' | 'models.remove'> {
  const { registry, audit } = deps;
  return {
    'models.list': () => registry.list(),
    'models.get': (input) => registry.get(input.id, input.version),
    'models.import': async (input, ctx) => {
      const result = await registry.import(input, ctx.signal);
      if (result.created) {
        const { model, version } = result;
        audit.append({
          ts: Date.now(),
          actor: ctx.actor,
          action: 'models.import',
          target: model.id,
          details: { name: model.name, version: version.version, fileName: version.fileName, sha256: version.sha256, sizeBytes: version.sizeBytes },
        });
      }
      return result;
    },
    'models.analyze': (input) => {
      const { modelId, version, ...options } = input;
      return { jobId: registry.analyze(modelId, version, options).jobId };
    },
    'models.analysis': (input) => registry.analysis(input.jobId),
    'models.cancelAnalysis': (input) => registry.cancelAnalysis(input.jobId),
    'models.build': async (input, ctx) => {
      const result = await registry.build(input, ctx.signal);
      // A signed package is a release artefact: who built what, for which MCU, goes to the audit log.
      audit.append({
        ts: Date.now(),
        actor: ctx.actor,
        action: 'models.build',
        target: input.modelId,
        details: { version: input.version, mcu: input.mcu, package: result.packageName, sha256: result.storedPackage.id, misfit: result.misfit },
      });
      return result;
    },
    'models.packages': (input) => registry.packages(input.modelId, input.version),
    'models.package': (input) => {
      const { package: stored, bytes } = registry.package(input.id);
      return { package: stored, bytesBase64: Buffer.from(bytes).toString('base64') };
    },
    'models.remove': (input, ctx) => {
      const removedVersions = registry.remove(input.id, input.version);
      audit.append({ ts: Date.now(), actor: ctx.actor, action: 'models.remove', target: input.id, details: { version: input.version ?? 'all', removedVersions } });
      return { removedVersions };
    },
  };
}
