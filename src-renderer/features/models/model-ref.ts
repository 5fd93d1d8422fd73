import { computed, onMounted, type ComputedRef } from 'vue';
import { useModelsStore } from '../../stores/models';

/** A model version as devices and deployments name it: `modelId@version`. */
export interface ModelRef {
  modelId: string;
  version: number;
}

/** Splits `modelId@version`; null when the text is not one (a device may report anything). */
export function parseModelRef(ref: string): ModelRef | null {
  const at = ref.lastIndexOf('@');
  const version = Number(ref.slice(at + 1));
  if (at <= 0 || !Number.isInteger(version) || version <= 0) return null;
  return { modelId: ref.slice(0, at), version };
}

/** "vww v2" for a model version whose model the registry knows; the reference as it is otherwise. */
export function modelRefLabel(ref: string | null, names: ReadonlyMap<string, string>): string {
  if (ref === null) return 'empty';
  const parsed = parseModelRef(ref);
  const name = parsed && names.get(parsed.modelId);
  return parsed && name ? `${name} v${parsed.version}` : ref;
}

/** The registry's model names by id (the models store is started when the component mounts). */
export function useModelNames(): ComputedRef<ReadonlyMap<string, string>> {
  const models = useModelsStore();
  onMounted(() => void models.start());
  return computed(() => new Map(models.models.map((m) => [m.id, m.name])));
}
