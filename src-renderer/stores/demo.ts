import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { DemoOptions, DemoStatus } from '@contract';
import { errorMessage, useApi } from '../app/api-context';

/** The guided demo (`demo.*`): its run as the core narrates it (`demo.progress`), start and cancel. */
export const useDemoStore = defineStore('demo', () => {
  const api = useApi();
  const status = shallowRef<DemoStatus | null>(null);
  const error = ref<string | null>(null);
  const busy = ref(false);
  let unsubscribe: (() => void) | null = null;

  /** Loads the current run and follows its progress; safe to call more than once. */
  async function start(): Promise<void> {
    if (unsubscribe) return;
    unsubscribe = api.subscribe('demo.progress', (s) => (status.value = s));
    try {
      status.value = await api.call('demo.status', {});
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  /** Starts a run (CONFLICT while one runs: the error says so). */
  async function run(options: Partial<DemoOptions> = {}): Promise<void> {
    busy.value = true;
    try {
      status.value = await api.call('demo.start', options);
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      busy.value = false;
    }
  }

  /** Cancels the running demo; what it created stays. */
  async function cancel(): Promise<void> {
    busy.value = true;
    try {
      status.value = await api.call('demo.cancel', {});
    } catch (e) {
      error.value = errorMessage(e);
    } finally {
      busy.value = false;
    }
  }

  function dispose(): void {
    unsubscribe?.();
    unsubscribe = null;
  }

  return { status, error, busy, start, run, cancel, dispose };
});
