import { defineStore } from 'pinia';
import { shallowRef } from 'vue';
import type { Alert } from '@contract';
import { useApi } from '../app/api-context';

/** The active alerts, read once and then followed through `alerts.changed`. */
export const useAlertsStore = defineStore('alerts', () => {
  const api = useApi();
  const alerts = shallowRef<readonly Alert[]>([]);
  let unsubscribe: (() => void) | null = null;

  /** Follows the alerts; safe to call more than once. */
  async function start(): Promise<void> {
    if (unsubscribe) return;
    unsubscribe = api.subscribe('alerts.changed', (p) => (alerts.value = p.alerts));
    await refresh();
  }

  /** Reads the active alerts again (after a reconnect). */
  async function refresh(): Promise<void> {
    alerts.value = (await api.call('alerts.list', {}).catch(() => ({ alerts: alerts.value }))).alerts;
  }

  function stop(): void {
    unsubscribe?.();
    unsubscribe = null;
  }

  return { alerts, start, refresh, stop };
});
