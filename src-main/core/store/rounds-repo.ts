import type { Database } from 'better-sqlite3';
import type { ClassPlan, FederatedJobSpec, FederatedJobState, ParticipantState, RoundState } from '../contract/rounds';
import { fromRow, insertSql, toRow, updateSql } from './row-mapping';

/** A federated job as stored. */
export interface RoundJobRecord {
  id: string;
  name: string;
  modelId: string;
  /** The base version the job started from. */
  version: number;
  spec: FederatedJobSpec;
  classes: ClassPlan[];
  state: FederatedJobState;
  stateReason: string | null;
  currentRound: number;
  latestVersion: number | null;
  baseAccuracy: number | null;
  globalAccuracy: number | null;
  /** Best global accuracy so far and the rounds since it improved (the patience rule). */
  bestAccuracy: number | null;
  roundsWithoutGain: number;
  /** The job's seed; round r's cohort and device seeds derive from it. */
  seed: number;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** The spread of participants' reported after-accuracy. */
export interface AccuracySpreadRecord {
  min: number | null;
  median: number | null;
  max: number | null;
  n: number;
}

/** One round as stored. */
export interface RoundRecord {
  jobId: string;
  round: number;
  state: RoundState;
  stateReason: string | null;
  /** The version and digest the round's devices train from. */
  baseVersion: number;
  baseDigest: string;
  deadline: number;
  bytesUp: number;
  bytesDown: number;
  denseBytes: number;
  globalAccuracy: number | null;
  baseAccuracy: number | null;
  deviceAccuracy: AccuracySpreadRecord | null;
  /** The version this round produced. */
  version: number | null;
  /** Buffered jobs: the uploads this window's aggregation took and their mean staleness (null in synchronous rounds). */
  aggregatedUploads: number | null;
  meanStaleness: number | null;
  startedAt: number;
  endedAt: number | null;
}

/** One device of one round as stored. */
export interface ParticipantRecord {
  jobId: string;
  round: number;
  deviceId: string;
  mcu: string;
  /** The scheme the device trains, as described to people. */
  scheme: string;
  state: ParticipantState;
  code: string | null;
  message: string | null;
  /** The upload's transfer id once offered (unique: a duplicate upload finds this row). */
  tid: string | null;
  /** The accepted delta's bytes, kept until the round aggregated. */
  delta: Uint8Array | null;
  samples: number | null;
  loss: number | null;
  accuracyBefore: number | null;
  accuracyAfter: number | null;
  uploadBytes: number | null;
  trainMs: number | null;
  /** Buffered jobs: this device's own deadline (null in synchronous rounds: the round's deadline holds). */
  deadline: number | null;
  /** Buffered jobs: the window whose aggregation took the upload, and how many versions behind it was. */
  aggregatedIn: number | null;
  staleness: number | null;
  updatedAt: number;
}

const JOB_JSON = new Set(['spec', 'classes']);
const ROUND_JSON = new Set(['deviceAccuracy']);

/** Delta bytes as SQLite stores them. */
function participantRow(p: ParticipantRecord): Record<string, unknown> {
  const row = toRow(p, new Set());
  row.delta = p.delta ? Buffer.from(p.delta.buffer, p.delta.byteOffset, p.delta.byteLength) : null;
  return row;
}

/**
 * Federated jobs, their rounds and participants (core/rounds' engine writes them before it acts,
 * so a restart resumes from here).
 */
export class RoundsRepo {
  constructor(private readonly db: Database) {}

  insertJob(job: RoundJobRecord): void {
    const row = toRow(job, JOB_JSON);
    this.db.prepare(insertSql('round_jobs', row)).run(row);
  }

  updateJob(job: RoundJobRecord): void {
    const row = toRow(job, JOB_JSON);
    this.db.prepare(updateSql('round_jobs', row, ['id'])).run(row);
  }

  job(id: string): RoundJobRecord | undefined {
    const row = this.db.prepare('SELECT * FROM round_jobs WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    return row && fromRow<RoundJobRecord>(row, JOB_JSON);
  }

  /** Jobs, newest first. */
  jobs(limit = 500): RoundJobRecord[] {
    return (this.db.prepare('SELECT * FROM round_jobs ORDER BY created_at DESC, rowid DESC LIMIT ?').all(limit) as Record<string, unknown>[]).map((r) => fromRow<RoundJobRecord>(r, JOB_JSON));
  }

  jobsInState(state: FederatedJobState): RoundJobRecord[] {
    return (this.db.prepare('SELECT * FROM round_jobs WHERE state = ? ORDER BY created_at').all(state) as Record<string, unknown>[]).map((r) => fromRow<RoundJobRecord>(r, JOB_JSON));
  }

  /** Stores a round with its selected devices in one transaction. */
  insertRound(round: RoundRecord, participants: readonly ParticipantRecord[]): void {
    this.db.transaction(() => {
      const row = toRow(round, ROUND_JSON);
      this.db.prepare(insertSql('rounds', row)).run(row);
      if (participants.length === 0) return;
      const insert = this.db.prepare(insertSql('round_participants', participantRow(participants[0]!)));
      for (const p of participants) insert.run(participantRow(p));
    })();
  }

  updateRound(round: RoundRecord): void {
    const row = toRow(round, ROUND_JSON);
    this.db.prepare(updateSql('rounds', row, ['job_id', 'round'])).run(row);
  }

  rounds(jobId: string): RoundRecord[] {
    return (this.db.prepare('SELECT * FROM rounds WHERE job_id = ? ORDER BY round').all(jobId) as Record<string, unknown>[]).map((r) => fromRow<RoundRecord>(r, ROUND_JSON));
  }

  participants(jobId: string, round: number): ParticipantRecord[] {
    return (this.db.prepare('SELECT * FROM round_participants WHERE job_id = ? AND round = ? ORDER BY device_id').all(jobId, round) as Record<string, unknown>[]).map((r) =>
      fromRow<ParticipantRecord>(r, new Set()),
    );
  }

  /** A job's participants in `state`, over all its rounds (a buffered job's uploads waiting for aggregation). */
  participantsInState(jobId: string, state: ParticipantState): ParticipantRecord[] {
    return (this.db.prepare('SELECT * FROM round_participants WHERE job_id = ? AND state = ? ORDER BY updated_at, device_id').all(jobId, state) as Record<string, unknown>[]).map((r) => fromRow<ParticipantRecord>(r, new Set()));
  }

  /** A job's participants in rounds `from` and later. */
  participantsSince(jobId: string, from: number): ParticipantRecord[] {
    return (this.db.prepare('SELECT * FROM round_participants WHERE job_id = ? AND round >= ? ORDER BY round, device_id').all(jobId, from) as Record<string, unknown>[]).map((r) => fromRow<ParticipantRecord>(r, new Set()));
  }

  insertParticipant(p: ParticipantRecord): void {
    const row = participantRow(p);
    this.db.prepare(insertSql('round_participants', row)).run(row);
  }

  updateParticipant(p: ParticipantRecord): void {
    const row = participantRow(p);
    this.db.prepare(updateSql('round_participants', row, ['job_id', 'round', 'device_id'])).run(row);
  }
}
