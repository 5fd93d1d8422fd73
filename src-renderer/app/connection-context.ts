import { inject, onScopeDispose, ref, type InjectionKey, type Ref } from 'vue';
import type { ApiConnection, LinkStatus } from '../api';

/** Where main.ts provides the link to the core (its state drives the "reconnecting" banner). */
export const connectionKey: InjectionKey<ApiConnection> = Symbol('ApiConnection');

/** The link state as a ref, updated while the calling component lives. */
export function useLinkStatus(): Ref<LinkStatus> {
  const connection = inject(connectionKey);
  const status = ref<LinkStatus>(connection?.status() ?? 'open');
  if (connection) onScopeDispose(connection.onStatus((s) => (status.value = s)));
  return status;
}
