import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { SystemInfo } from '@contract';
import { errorMessage, useApi } from '../app/api-context';

/** How often the broker state is re-read (system.info has no event). */
const POLL_MS = 3000;

/** App and broker state shown in the header and on the settings page. */
export const useSystemStore = defineStore('system', () => {
  const api = useApi();
  const info = shallowRef<SystemInfo | null>(null);
  const error = ref<string | null>(null);
  let timer: ReturnType<typeof setInterval> | undefined;

  async function refresh(): Promise<void> {
    try {
      info.value = await api.call('system.info', {});
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  /** Loads the info and keeps it fresh until `stop`. */
  function start(): void {
    if (timer !== undefined) return;
    void refresh();
    timer = setInterval(() => void refresh(), POLL_MS);
  }

  function stop(): void {
    clearInterval(timer);
    timer = undefined;
  }

  return { info, error, refresh, start, stop };
});
