import { afterEach, describe, expect, it } from 'vitest';
import { FederatedJobSpec } from '../../../src-main/core/contract';
import { Store, type ParticipantRecord, type RoundJobRecord, type RoundRecord } from '../../../src-main/core/store';

const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

const job = (id: string, createdAt: number): RoundJobRecord => ({
  id,
  name: id,
  modelId: 'm',
  version: 1,
  spec: FederatedJobSpec.parse({ modelId: 'm', version: 1 }),
  classes: [],
  state: 'running',
  stateReason: null,
  currentRound: 0,
  latestVersion: null,
  baseAccuracy: null,
  globalAccuracy: null,
  bestAccuracy: null,
  roundsWithoutGain: 0,
  seed: 7,
  createdAt,
  updatedAt: createdAt,
  finishedAt: null,
});
const round: RoundRecord = {
  jobId: 'j1',
  round: 0,
  state: 'training',
  stateReason: null,
  baseVersion: 1,
  baseDigest: 'a'.repeat(64),
  deadline: 100,
  bytesUp: 0,
  bytesDown: 0,
  denseBytes: 5000,
  globalAccuracy: null,
  baseAccuracy: null,
  deviceAccuracy: null,
  version: null,
  aggregatedUploads: null,
  meanStaleness: null,
  startedAt: 1,
  endedAt: null,
};
const participant = (deviceId: string): ParticipantRecord => ({
  jobId: 'j1',
  round: 0,
  deviceId,
  mcu: 'rp2040',
  scheme: 'bias x2 + classifier',
  state: 'selected',
  code: null,
  message: null,
  tid: null,
  delta: null,
  samples: null,
  loss: null,
  accuracyBefore: null,
  accuracyAfter: null,
  uploadBytes: null,
  trainMs: null,
  deadline: null,
  aggregatedIn: null,
  staleness: null,
  updatedAt: 1,
});

describe('RoundsRepo', () => {
  it('stores jobs, rounds and participants and reads back exactly what it wrote, delta bytes included', () => {
    const store = Store.openFile(':memory:');
    stores.push(store);
    store.rounds.insertJob(job('j1', 1));
    store.rounds.insertJob(job('j2', 2));
    expect(store.rounds.jobs().map((j) => j.id)).toEqual(['j2', 'j1']);
    expect(store.rounds.job('j1')).toEqual(job('j1', 1));
    store.rounds.insertRound(round, [participant('d1'), participant('d2')]);
    const uploaded = { ...participant('d2'), state: 'uploaded' as const, tid: '0011223344556677', delta: new Uint8Array([1, 2, 3]), samples: 20, loss: 0.5 };
    store.rounds.updateParticipant(uploaded);
    expect(store.rounds.participants('j1', 0)).toEqual([participant('d1'), uploaded]);
    const done = { ...round, state: 'done' as const, version: 2, deviceAccuracy: { min: 0.5, median: 0.6, max: 0.7, n: 2 }, endedAt: 9 };
    store.rounds.updateRound(done);
    expect(store.rounds.rounds('j1')).toEqual([done]);
    store.rounds.updateJob({ ...job('j1', 1), state: 'done', latestVersion: 2 });
    expect(store.rounds.jobsInState('running').map((j) => j.id)).toEqual(['j2']);
  });
});
