import { inject, type InjectionKey } from 'vue';
import type { TinyFleetApi } from '@contract';

/** Where the app provides its TinyFleet client (whatever the transport: IPC or WebSocket). */
export const apiKey: InjectionKey<TinyFleetApi> = Symbol('TinyFleetApi');

/** The client provided by main.ts; stores and components call the core through it. */
export function useApi(): TinyFleetApi {
  const api = inject(apiKey);
  if (!api) throw new Error('TinyFleet API not provided: call app.provide(apiKey, api) before using stores');
  return api;
}

/**
 * The human message of an error thrown by a call (`{ code, message }` or an Error). The code is
 * for programs and stays out (toasts show it under "Details").
 */
export function errorMessage(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error && typeof error.message === 'string') return error.message;
  return String(error);
}
