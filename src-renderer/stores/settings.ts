import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { Settings } from '@contract';
import { errorMessage, useApi } from '../app/api-context';

/** Persisted settings: loaded on demand, saved as a whole with `settings.update`. */
export const useSettingsStore = defineStore('settings', () => {
  const api = useApi();
  const settings = shallowRef<Settings | null>(null);
  const loading = ref(false);
  const saving = ref(false);
  const error = ref<string | null>(null);

  async function load(): Promise<void> {
    loading.value = true;
    error.value = null;
    try {
      settings.value = await api.call('settings.get', {});
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      loading.value = false;
    }
  }

  /** Saves; returns whether it worked (the error is in `error` otherwise). */
  async function save(next: Settings): Promise<boolean> {
    saving.value = true;
    error.value = null;
    try {
      settings.value = await api.call('settings.update', next);
      return true;
    } catch (e) {
      error.value = errorMessage(e);
      return false;
    } finally {
      saving.value = false;
    }
  }

  return { settings, loading, saving, error, load, save };
});
