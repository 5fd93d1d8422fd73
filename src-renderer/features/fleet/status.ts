import type { DeviceStatus } from '@contract';

/** Presence labels and Element Plus tag types, in the order tiles and filters show them. */
export const STATUS_INFO: Record<DeviceStatus, { label: string; tag: 'success' | 'info' | 'danger' | 'warning' }> = {
  online: { label: 'Online', tag: 'success' },
  offline: { label: 'Offline', tag: 'info' },
  lost: { label: 'Lost', tag: 'danger' },
  unknown: { label: 'Unknown', tag: 'warning' },
};

export const STATUSES: DeviceStatus[] = ['online', 'offline', 'lost', 'unknown'];
