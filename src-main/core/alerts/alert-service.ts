import type { Alert, AlertKind, AlertList, AlertSettings, DeviceSummary, Events } from '../contract';
import type { Logger } from '../common/logger';
import type { EventSink } from '../common/event-sink';

/** How often the rules run over the fleet (a list of 10,000 devices is a few tens of ms). */
export const ALERT_INTERVAL_MS = 5000;

export interface AlertServiceDeps {
  /** Every device with its presence and latest values (FleetService.list). */
  devices: () => readonly DeviceSummary[];
  /** Thresholds, read at every evaluation (the settings' `alerts` section). */
  settings: () => AlertSettings;
  events: EventSink<Events>;
  logger: Logger;
  clock?: () => number;
  intervalMs?: number;
}

/** The rules, most urgent first (the list is sorted by this, then by the newest condition). */
const KIND_ORDER: Record<AlertKind, number> = { lost: 0, telemetry_gap: 1, low_battery: 2 };

/**
 * Evaluates alert rules over the devices summary on a timer: low battery, lost devices, online
 * devices whose telemetry stopped. An alert lives while its condition holds and keeps the time it
 * started; `alerts.changed` goes out whenever an alert starts or ends.
 */
export class AlertService {
  private readonly clock: () => number;
  private active = new Map<string, Alert>();
  private evaluatedAt = 0;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly deps: AlertServiceDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /** Evaluates now, then every `intervalMs`. */
  start(): void {
    if (this.timer) return;
    this.evaluate();
    this.timer = setInterval(() => {
      try {
        this.evaluate();
      } catch (error) {
        // A locked database must not stop the alerts: the next tick tries again.
        this.deps.logger.warn('alerts: evaluation failed; retrying on the next tick', { error });
      }
    }, this.deps.intervalMs ?? ALERT_INTERVAL_MS);
  }

  /** The active alerts. */
  list(): AlertList {
    return { alerts: sortAlerts([...this.active.values()]), evaluatedAt: this.evaluatedAt };
  }

  /** Runs the rules once; emits `alerts.changed` when an alert started or ended. */
  evaluate(): AlertList {
    const now = this.clock();
    const settings = this.deps.settings();
    const next = new Map<string, Alert>();
    for (const device of this.deps.devices()) {
      for (const found of conditions(device, settings, now)) {
        const id = `${found.kind}:${device.id}`;
        next.set(id, { id, deviceId: device.id, deviceName: device.name, since: this.active.get(id)?.since ?? now, ...found });
      }
    }
    const changed = next.size !== this.active.size || [...next.keys()].some((id) => !this.active.has(id));
    this.active = next;
    this.evaluatedAt = now;
    const list = this.list();
    if (changed) this.deps.events.emit('alerts.changed', list);
    return list;
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** The conditions one device is in now. */
function conditions(device: DeviceSummary, settings: AlertSettings, now: number): Pick<Alert, 'kind' | 'message' | 'value'>[] {
  const found: Pick<Alert, 'kind' | 'message' | 'value'>[] = [];
  if (device.status === 'lost') {
    found.push({ kind: 'lost', message: 'Connection lost: the broker published its last will', value: null });
  }
  if (device.status === 'online' && device.lastSeen !== null) {
    const silentS = Math.floor((now - device.lastSeen) / 1000);
    if (silentS > settings.telemetryGapSeconds) {
      found.push({ kind: 'telemetry_gap', message: `Online but no telemetry for over ${settings.telemetryGapSeconds} s`, value: silentS });
    }
  }
  if (device.battery !== null && device.battery < settings.lowBatteryPercent) {
    found.push({ kind: 'low_battery', message: `Battery below ${settings.lowBatteryPercent} %`, value: device.battery });
  }
  return found;
}

function sortAlerts(alerts: Alert[]): Alert[] {
  return alerts.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || b.since - a.since || a.deviceId.localeCompare(b.deviceId));
}
