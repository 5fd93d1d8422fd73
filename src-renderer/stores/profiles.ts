import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { McuProfile } from '@contract';
import { errorMessage, useApi } from '../app/api-context';

/** The MCU profile catalog (it does not change while the app runs: loaded once). */
export const useProfilesStore = defineStore('profiles', () => {
  const api = useApi();
  const profiles = shallowRef<McuProfile[]>([]);
  const error = ref<string | null>(null);
  let loading: Promise<void> | null = null;

  function load(): Promise<void> {
    loading ??= api.call('profiles.list', {}).then(
      (p) => {
        profiles.value = p;
        error.value = null;
      },
      (e) => {
        error.value = errorMessage(e);
        loading = null;
      },
    );
    return loading;
  }

  return { profiles, error, load };
});
