import type { Database } from 'better-sqlite3';

/**
 * One schema step, in a file of its own (`NNNN-name.ts`, listed in `index.ts`). Migration n takes
 * the database from user_version n-1 to n; it runs in one transaction together with the
 * user_version bump, so a failure leaves the previous version intact. Never edit a shipped
 * migration: add the next file.
 */
export interface Migration {
  /** The user_version the database has after this step. */
  version: number;
  /** What the step adds, for messages (the file name without its number). */
  name: string;
  up(db: Database): void;
}
