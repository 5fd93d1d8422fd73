import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { CallInput, FaultConfig, SimStatus } from '@contract';
import { errorMessage, useApi } from '../app/api-context';

/** Simulated fleets: running groups (from `sim.status` events) and what can be done to them. */
export const useSimulatorStore = defineStore('simulator', () => {
  const api = useApi();
  const status = shallowRef<SimStatus>({ groups: [], connected: 0, total: 0 });
  const error = ref<string | null>(null);
  let unsubscribe: (() => void) | null = null;

  /** Loads the status and follows its events; safe to call more than once. */
  async function start(): Promise<void> {
    if (unsubscribe) return;
    unsubscribe = api.subscribe('sim.status', (s) => (status.value = s));
    try {
      status.value = await api.call('sim.status', {});
      error.value = null;
    } catch (e) {
      error.value = errorMessage(e);
    }
  }

  async function startGroup(config: CallInput<'sim.start'>) {
    const group = await api.call('sim.start', config);
    status.value = await api.call('sim.status', {});
    return group;
  }

  async function stopGroup(groupId?: string): Promise<void> {
    status.value = await api.call('sim.stop', groupId === undefined ? {} : { groupId });
  }

  async function setFaults(groupId: string, faults: FaultConfig): Promise<void> {
    await api.call('sim.setFaults', { groupId, faults });
    status.value = await api.call('sim.status', {});
  }

  async function inject(deviceId: string, fault: 'disconnect' | 'power_loss'): Promise<boolean> {
    return (await api.call('sim.inject', { deviceId, fault })).ok;
  }

  function dispose(): void {
    unsubscribe?.();
    unsubscribe = null;
  }

  return { status, error, start, startGroup, stopGroup, setFaults, inject, dispose };
});
