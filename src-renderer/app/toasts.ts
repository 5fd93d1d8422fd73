/**
 * The app's one way to tell the user something happened: a short toast in the bottom-right corner
 * (never over the header), at most MAX_TOASTS at a time (the oldest goes first; the same toast
 * again replaces itself). An error shows a human sentence first; its precise cause and code sit
 * in a collapsed "Details".
 */
import { h } from 'vue';
import { ElNotification, type NotificationHandle } from 'element-plus';
import { RpcError } from '../api';
import { errorMessage } from './api-context';

/** Toasts visible at once. */
export const MAX_TOASTS = 3;

type ToastKind = 'success' | 'info' | 'warning' | 'error';

interface ToastSpec {
  kind: ToastKind;
  title: string;
  message?: string;
  details?: string;
}

const DURATION_MS: Record<ToastKind, number> = { success: 3000, info: 4000, warning: 6000, error: 10_000 };
const shown: { key: string; handle: NotificationHandle }[] = [];

function forget(entry: (typeof shown)[number]): void {
  const at = shown.indexOf(entry);
  if (at !== -1) shown.splice(at, 1);
}

function show(spec: ToastSpec): void {
  const key = `${spec.kind}\n${spec.title}\n${spec.message ?? ''}`;
  for (const same of shown.filter((s) => s.key === key)) {
    forget(same);
    same.handle.close();
  }
  while (shown.length >= MAX_TOASTS) shown.shift()!.handle.close();
  const body = h('div', { class: 'tf-toast__body' }, [
    spec.message ? h('p', { class: 'tf-toast__message', 'data-testid': 'toast-message' }, spec.message) : null,
    spec.details
      ? h('details', { class: 'tf-toast__details', 'data-testid': 'toast-details' }, [h('summary', 'Details'), h('pre', spec.details)])
      : null,
  ]);
  const entry = { key, handle: undefined as unknown as NotificationHandle };
  entry.handle = ElNotification({
    type: spec.kind,
    title: spec.title,
    message: body,
    position: 'bottom-right',
    duration: DURATION_MS[spec.kind],
    customClass: `tf-toast tf-toast--${spec.kind}`,
    onClose: () => forget(entry),
  });
  shown.push(entry);
}

/** The precise cause and the contract code of an error, for the "Details" of its toast. */
function errorDetails(error: unknown): string | undefined {
  if (!(error instanceof RpcError)) return undefined;
  return [error.details, `error code ${error.code}`].filter(Boolean).join('\n');
}

export const toast = {
  success(title: string, message?: string): void {
    show({ kind: 'success', title, message });
  },
  info(title: string, message?: string): void {
    show({ kind: 'info', title, message });
  },
  warning(title: string, message?: string): void {
    show({ kind: 'warning', title, message });
  },
  /** `title` says what failed ("Could not import the model"); the error says why. */
  error(title: string, error: unknown): void {
    show({ kind: 'error', title, message: errorMessage(error), details: errorDetails(error) });
  },
};
