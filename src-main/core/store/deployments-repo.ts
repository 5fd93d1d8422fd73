import type { Database, Statement } from 'better-sqlite3';
import type { DeploymentSpec, DeploymentState, FitGateRow } from '../contract/deploy';
import { parseJsonColumn } from './json';

/** Execution states, as stored (see core/deploy/execution.ts for what they mean). */
export type StoredExecutionState = 'queued' | 'transferring' | 'verifying' | 'activating' | 'succeeded' | 'failed' | 'timed_out' | 'rejected' | 'skipped' | 'canceled';

/** One wave's bookkeeping. */
export interface WaveRecord {
  size: number;
  startedAt: number | null;
  settledAt: number | null;
}

/** A deployment as stored. */
export interface DeploymentRecord {
  id: string;
  name: string;
  modelId: string;
  version: number;
  spec: DeploymentSpec;
  state: DeploymentState;
  stateReason: string | null;
  currentWave: number;
  waves: WaveRecord[];
  fitGate: FitGateRow[];
  /** While soaking: when the next wave may start. */
  soakUntil: number | null;
  bytesSent: number;
  bytesNeeded: number;
  rollbackOf: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** What a device ran before a deployment touched it (for rollback). */
export interface PreviousModel {
  model: string | null;
  sha256: string | null;
  slot: 'a' | 'b' | null;
}

/** One device's execution of one deployment, as stored. */
export interface ExecutionRecord {
  deploymentId: string;
  deviceId: string;
  mcu: string;
  wave: number;
  state: StoredExecutionState;
  /** `transfer`: offer a package (the device skips the blocks when a slot holds them); `activate`: the `activate_slot` command. */
  action: 'transfer' | 'activate';
  packageId: string | null;
  targetSlot: 'a' | 'b' | null;
  /** Kept across attempts and app restarts: the device resumes a transfer id from its stored bitmap. */
  tid: string | null;
  attempts: number;
  idleRetries: number;
  blocksHeld: number;
  blockCount: number;
  bytesSent: number;
  previous: PreviousModel | null;
  errorCode: string | null;
  errorMessage: string | null;
  attemptStartedAt: number | null;
  lastHeardAt: number | null;
  updatedAt: number;
}

interface DeploymentRow {
  id: string;
  name: string;
  model_id: string;
  version: number;
  spec: string;
  state: DeploymentState;
  state_reason: string | null;
  current_wave: number;
  waves: string;
  fit_gate: string;
  soak_until: number | null;
  bytes_sent: number;
  bytes_needed: number;
  rollback_of: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

interface ExecutionRow {
  deployment_id: string;
  device_id: string;
  mcu: string;
  wave: number;
  state: StoredExecutionState;
  action: 'transfer' | 'activate';
  package_id: string | null;
  target_slot: 'a' | 'b' | null;
  tid: string | null;
  attempts: number;
  idle_retries: number;
  blocks_held: number;
  block_count: number;
  bytes_sent: number;
  previous: string | null;
  error_code: string | null;
  error_message: string | null;
  attempt_started_at: number | null;
  last_heard_at: number | null;
  updated_at: number;
}

function toDeployment(r: DeploymentRow): DeploymentRecord {
  return {
    id: r.id,
    name: r.name,
    modelId: r.model_id,
    version: r.version,
    spec: parseJsonColumn<DeploymentSpec>(r.spec, {} as DeploymentSpec),
    state: r.state,
    stateReason: r.state_reason,
    currentWave: r.current_wave,
    waves: parseJsonColumn<WaveRecord[]>(r.waves, []),
    fitGate: parseJsonColumn<FitGateRow[]>(r.fit_gate, []),
    soakUntil: r.soak_until,
    bytesSent: r.bytes_sent,
    bytesNeeded: r.bytes_needed,
    rollbackOf: r.rollback_of,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}

function deploymentParams(d: DeploymentRecord): Record<string, unknown> {
  return {
    id: d.id,
    name: d.name,
    modelId: d.modelId,
    version: d.version,
    spec: JSON.stringify(d.spec),
    state: d.state,
    stateReason: d.stateReason,
    currentWave: d.currentWave,
    waves: JSON.stringify(d.waves),
    fitGate: JSON.stringify(d.fitGate),
    soakUntil: d.soakUntil,
    bytesSent: d.bytesSent,
    bytesNeeded: d.bytesNeeded,
    rollbackOf: d.rollbackOf,
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
    finishedAt: d.finishedAt,
  };
}

function toExecution(r: ExecutionRow): ExecutionRecord {
  return {
    deploymentId: r.deployment_id,
    deviceId: r.device_id,
    mcu: r.mcu,
    wave: r.wave,
    state: r.state,
    action: r.action,
    packageId: r.package_id,
    targetSlot: r.target_slot,
    tid: r.tid,
    attempts: r.attempts,
    idleRetries: r.idle_retries,
    blocksHeld: r.blocks_held,
    blockCount: r.block_count,
    bytesSent: r.bytes_sent,
    previous: parseJsonColumn<PreviousModel | null>(r.previous, null),
    errorCode: r.error_code,
    errorMessage: r.error_message,
    attemptStartedAt: r.attempt_started_at,
    lastHeardAt: r.last_heard_at,
    updatedAt: r.updated_at,
  };
}

function executionParams(e: ExecutionRecord): Record<string, unknown> {
  return { ...e, previous: e.previous ? JSON.stringify(e.previous) : null };
}

/** Deployments and their per-device executions. */
export class DeploymentsRepo {
  private readonly insertDeploymentStmt: Statement;
  private readonly updateDeploymentStmt: Statement;
  private readonly insertExecutionStmt: Statement;
  private readonly updateExecutionStmt: Statement;

  constructor(private readonly db: Database) {
    this.insertDeploymentStmt = db.prepare(
      `INSERT INTO deployments (id, name, model_id, version, spec, state, state_reason, current_wave, waves, fit_gate, soak_until, bytes_sent, bytes_needed, rollback_of, created_at, updated_at, finished_at)
       VALUES (@id, @name, @modelId, @version, @spec, @state, @stateReason, @currentWave, @waves, @fitGate, @soakUntil, @bytesSent, @bytesNeeded, @rollbackOf, @createdAt, @updatedAt, @finishedAt)`,
    );
    this.updateDeploymentStmt = db.prepare(
      `UPDATE deployments SET state = @state, state_reason = @stateReason, current_wave = @currentWave, waves = @waves, soak_until = @soakUntil,
         bytes_sent = @bytesSent, bytes_needed = @bytesNeeded, updated_at = @updatedAt, finished_at = @finishedAt WHERE id = @id`,
    );
    this.insertExecutionStmt = db.prepare(
      `INSERT INTO deployment_devices (deployment_id, device_id, mcu, wave, state, action, package_id, target_slot, tid, attempts, idle_retries, blocks_held, block_count, bytes_sent, previous, error_code, error_message, attempt_started_at, last_heard_at, updated_at)
       VALUES (@deploymentId, @deviceId, @mcu, @wave, @state, @action, @packageId, @targetSlot, @tid, @attempts, @idleRetries, @blocksHeld, @blockCount, @bytesSent, @previous, @errorCode, @errorMessage, @attemptStartedAt, @lastHeardAt, @updatedAt)`,
    );
    this.updateExecutionStmt = db.prepare(
      `UPDATE deployment_devices SET state = @state, package_id = @packageId, target_slot = @targetSlot, tid = @tid, attempts = @attempts, idle_retries = @idleRetries,
         blocks_held = @blocksHeld, block_count = @blockCount, bytes_sent = @bytesSent, previous = @previous, error_code = @errorCode,
         error_message = @errorMessage, attempt_started_at = @attemptStartedAt, last_heard_at = @lastHeardAt, updated_at = @updatedAt
       WHERE deployment_id = @deploymentId AND device_id = @deviceId`,
    );
  }

  /** Stores a new deployment with all its executions, in one transaction. */
  insert(deployment: DeploymentRecord, executions: readonly ExecutionRecord[]): void {
    this.db.transaction(() => {
      this.insertDeploymentStmt.run(deploymentParams(deployment));
      for (const e of executions) this.insertExecutionStmt.run(executionParams(e));
    })();
  }

  /** Writes a deployment's mutable fields and the given executions, in one transaction. */
  save(deployment: DeploymentRecord | null, executions: Iterable<ExecutionRecord>): void {
    this.db.transaction(() => {
      if (deployment) this.updateDeploymentStmt.run(deploymentParams(deployment));
      for (const e of executions) this.updateExecutionStmt.run(executionParams(e));
    })();
  }

  get(id: string): DeploymentRecord | null {
    const row = this.db.prepare('SELECT * FROM deployments WHERE id = ?').get(id) as DeploymentRow | undefined;
    return row ? toDeployment(row) : null;
  }

  /** Newest first. */
  list(limit: number): DeploymentRecord[] {
    return (this.db.prepare('SELECT * FROM deployments ORDER BY created_at DESC, id DESC LIMIT ?').all(limit) as DeploymentRow[]).map(toDeployment);
  }

  /** Deployments in one of `states`, oldest first. */
  inStates(states: readonly DeploymentState[]): DeploymentRecord[] {
    const marks = states.map(() => '?').join(', ');
    return (this.db.prepare(`SELECT * FROM deployments WHERE state IN (${marks}) ORDER BY created_at, id`).all(...states) as DeploymentRow[]).map(toDeployment);
  }

  /** Every execution of a deployment, in wave then device order. */
  executions(deploymentId: string): ExecutionRecord[] {
    return (this.db.prepare('SELECT * FROM deployment_devices WHERE deployment_id = ? ORDER BY wave, device_id').all(deploymentId) as ExecutionRow[]).map(toExecution);
  }

  /** A page of a deployment's executions, optionally of one state, with the total. */
  page(deploymentId: string, options: { offset: number; limit: number; state?: StoredExecutionState }): { total: number; executions: ExecutionRecord[] } {
    const where = options.state ? 'deployment_id = ? AND state = ?' : 'deployment_id = ?';
    const args = options.state ? [deploymentId, options.state] : [deploymentId];
    const total = this.db.prepare(`SELECT COUNT(*) FROM deployment_devices WHERE ${where}`).pluck().get(...args) as number;
    const rows = this.db.prepare(`SELECT * FROM deployment_devices WHERE ${where} ORDER BY wave, device_id LIMIT ? OFFSET ?`).all(...args, options.limit, options.offset) as ExecutionRow[];
    return { total, executions: rows.map(toExecution) };
  }

  /** A device's executions across deployments, newest first. */
  deviceHistory(deviceId: string, limit: number): Array<ExecutionRecord & { deploymentName: string; modelId: string; version: number }> {
    const rows = this.db
      .prepare(
        `SELECT x.*, d.name AS deployment_name, d.model_id AS model_id, d.version AS model_version FROM deployment_devices x JOIN deployments d ON d.id = x.deployment_id
         WHERE x.device_id = ? ORDER BY d.created_at DESC, d.id DESC LIMIT ?`,
      )
      .all(deviceId, limit) as Array<ExecutionRow & { deployment_name: string; model_id: string; model_version: number }>;
    return rows.map((r) => ({ ...toExecution(r), deploymentName: r.deployment_name, modelId: r.model_id, version: r.model_version }));
  }
}
