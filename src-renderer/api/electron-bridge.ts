import type { TinyFleetApi } from '@contract';
import type { TinyFleetBridge } from '@contract/wire';
import { RpcError } from '@contract/client/rpc-error';

/** Adapts the preload's `window.tinyfleet` to the contract API (failures become RpcError again). */
export function apiFromBridge(bridge: TinyFleetBridge): TinyFleetApi {
  return {
    async call(name, input) {
      const outcome = await bridge.call(name, input);
      if (!outcome.ok) throw new RpcError(outcome.error);
      return outcome.output as never;
    },
    subscribe(event, handler) {
      return bridge.subscribe(event, handler as (payload: unknown) => void);
    },
  };
}
