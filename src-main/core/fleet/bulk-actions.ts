import { AppError, type BulkDeviceResult, type BulkResult } from '../contract';
import type { FleetService } from './fleet-service';
import { mapConcurrent } from './map-concurrent';

/** Commands in flight at once in a bulk command: the broker and the devices' queues stay calm. */
const COMMAND_CONCURRENCY = 64;

/**
 * Actions on many selected devices at once, built on FleetService's public calls: each device is
 * handled on its own and reported on its own, so one missing or silent device never spoils the
 * rest. Results keep the order of the ids given (duplicates are handled once).
 */
export class BulkActions {
  constructor(private readonly fleet: FleetService) {}

  /** Sends one command to every device, at most COMMAND_CONCURRENCY at a time; waits for every answer or timeout. */
  async command(
    input: { ids: readonly string[]; command: string; params: Record<string, unknown>; timeoutMs: number; queueForMs?: number },
    actor: string,
    signal?: AbortSignal,
  ): Promise<BulkResult> {
    const results = await mapConcurrent(unique(input.ids), COMMAND_CONCURRENCY, async (id): Promise<BulkDeviceResult> => {
      if (signal?.aborted) return failed(id, { code: 'CANCELLED', message: 'cancelled before it was sent' });
      try {
        const record = await this.fleet.command({ id, command: input.command, params: input.params, timeoutMs: input.timeoutMs, queueForMs: input.queueForMs }, actor, signal);
        if (record.state === 'queued') return { id, ok: false, queued: true, error: null, command: record };
        const ok = record.state === 'ok';
        return { id, ok, error: ok ? null : (record.error ?? { code: 'ERROR', message: 'the device reported a failure' }), command: record };
      } catch (error) {
        return failed(id, payloadOf(error));
      }
    });
    return summarize(results);
  }

  /** Adds and removes tags on every device (a device keeps its other tags). */
  tag(input: { ids: readonly string[]; add: readonly string[]; remove: readonly string[] }, actor: string): BulkResult {
    const drop = new Set(input.remove);
    return summarize(
      unique(input.ids).map((id) =>
        this.each(id, () => {
          const current = this.fleet.get(id).tags;
          const tags = [...new Set([...current.filter((t) => !drop.has(t)), ...input.add])];
          this.fleet.registry.update(id, { tags }, actor);
        }),
      ),
    );
  }

  /** Deprovisions every device. */
  remove(input: { ids: readonly string[] }, actor: string): BulkResult {
    return summarize(
      unique(input.ids).map((id) =>
        this.each(id, () => {
          if (!this.fleet.registry.remove(id, actor)) throw new AppError('NOT_FOUND', `no device "${id}"`);
        }),
      ),
    );
  }

  private each(id: string, action: () => void): BulkDeviceResult {
    try {
      action();
      return { id, ok: true, error: null };
    } catch (error) {
      return failed(id, payloadOf(error));
    }
  }
}

function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

type DeviceError = NonNullable<BulkDeviceResult['error']>;

function failed(id: string, error: DeviceError): BulkDeviceResult {
  return { id, ok: false, error };
}

/** A deliberate error keeps its code and message; anything else is a defect and is rethrown. */
function payloadOf(error: unknown): DeviceError {
  if (error instanceof AppError) return { code: error.code, message: error.message };
  throw error;
}

function summarize(results: BulkDeviceResult[]): BulkResult {
  const ok = results.filter((r) => r.ok).length;
  const queued = results.filter((r) => r.queued).length;
  return { ok, failed: results.length - ok - queued, queued, results };
}
