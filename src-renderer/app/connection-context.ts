import { inject, onScopeDispose, ref, type InjectionKey, type Ref } from 'vue';
import type { AccessRefusal, ApiConnection, LinkStatus } from '../api';

/** Where main.ts provides the link to the core (its state drives the "reconnecting" banner). */
export const connectionKey: InjectionKey<ApiConnection> = Symbol('ApiConnection');

/** The link state as a ref, updated while the calling component lives. */
export function useLinkStatus(): Ref<LinkStatus> {
  const connection = inject(connectionKey);
  const status = ref<LinkStatus>(connection?.status() ?? 'open');
  if (connection) onScopeDispose(connection.onStatus((s) => (status.value = s)));
  return status;
}

/** Why the server refused this tab (null while it has not), updated with the link state. */
export function useLinkRefusal(): Ref<AccessRefusal | null> {
  const connection = inject(connectionKey);
  const refusal = ref<AccessRefusal | null>(connection?.refusal() ?? null);
  if (connection) onScopeDispose(connection.onStatus(() => (refusal.value = connection.refusal())));
  return refusal;
}
