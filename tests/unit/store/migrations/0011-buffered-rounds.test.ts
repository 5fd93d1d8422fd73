import { describe, expect, it } from 'vitest';
import { migrate, schemaVersion } from '../../../../src-main/core/store';
import { bareDb } from './bare-db';

describe('migration 11 (buffered rounds)', () => {
  it("adds a participant's own deadline, window and staleness and a window's aggregation figures; existing synchronous rows keep NULL", () => {
    const db = bareDb();
    migrate(db, 10);
    db.prepare("INSERT INTO round_jobs (id, name, model_id, version, spec, classes, state, seed, created_at, updated_at) VALUES ('j', 'j', 'm', 1, '{}', '[]', 'running', 7, 1, 1)").run();
    db.prepare("INSERT INTO rounds (job_id, round, state, base_version, base_digest, deadline, started_at) VALUES ('j', 0, 'training', 1, 'ab', 2, 1)").run();
    db.prepare("INSERT INTO round_participants (job_id, round, device_id, mcu, scheme, state, updated_at) VALUES ('j', 0, 'd1', 'rp2040', 'bias x2', 'uploaded', 1)").run();
    migrate(db, 11);
    expect(schemaVersion(db)).toBe(11);
    expect(db.prepare("SELECT deadline, aggregated_in, staleness FROM round_participants WHERE device_id = 'd1'").get()).toEqual({ deadline: null, aggregated_in: null, staleness: null });
    expect(db.prepare("SELECT aggregated_uploads, mean_staleness FROM rounds WHERE job_id = 'j'").get()).toEqual({ aggregated_uploads: null, mean_staleness: null });
    const plan = db.prepare("EXPLAIN QUERY PLAN SELECT * FROM round_participants WHERE job_id = 'j' AND state = 'uploaded'").all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toContain('round_participants_job_state');
  });
});
