import type { ErrorCode, ErrorPayload } from '..';

/**
 * A failed call as the renderer sees it: `code` from the contract's error codes, `message` for
 * people, `details` the precise cause when there is one.
 */
export class RpcError extends Error {
  readonly code: ErrorCode;
  readonly details: string | undefined;

  constructor(payload: ErrorPayload) {
    super(payload.message);
    this.name = 'RpcError';
    this.code = payload.code;
    this.details = payload.details;
  }
}
