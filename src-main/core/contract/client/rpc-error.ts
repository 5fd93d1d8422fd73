import type { ErrorCode, ErrorPayload } from '..';

/** A failed call as the renderer sees it: `code` from the contract's error codes, `message` for people. */
export class RpcError extends Error {
  readonly code: ErrorCode;

  constructor(payload: ErrorPayload) {
    super(payload.message);
    this.name = 'RpcError';
    this.code = payload.code;
  }
}
