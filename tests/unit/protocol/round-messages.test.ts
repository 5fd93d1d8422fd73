import { describe, expect, it } from 'vitest';
import {
  decodeCommand,
  decodeEvent,
  decodeRoundCommandResult,
  decodeRoundEvent,
  decodeRoundParams,
  encodeMessage,
  isRoundEventKind,
  ROUND_CHANNEL_RATIOS,
  RoundErrorCode,
  type StartRoundParams,
  BirthMessage,
  TransferErrorCode,
  TransferOffer,
} from '../../../src-main/core/protocol';
import { CHANNEL_RATIOS } from '../../../src-main/core/train/sparse/scheme';

const start: StartRoundParams = {
  job: 'fed-kws.7',
  round: 3,
  baseSha256: 'ab'.repeat(32),
  scheme: { biasLastN: 4, weights: [{ op: 9, ratio: 0.25 }, { op: 12, ratio: 0.5 }], classifier: true },
  local: { epochs: 2, samples: 120, lr: 0.01, qas: true },
  seed: 12345,
  deadline: 1_767_225_900_000,
};

const code = <T>(r: { ok: true; value: T } | { ok: false; error: { code: string; message: string } }) => (r.ok ? 'ok' : r.error.message);

describe('start_round and cancel_round', () => {
  it('decodes a good start_round carried in a v1 command', () => {
    const cmd = decodeCommand(encodeMessage('cmd', { v: 1, id: 'r-3-a', name: 'start_round', params: start, ts: 1 }));
    expect(cmd.ok).toBe(true);
    if (!cmd.ok) return;
    expect(decodeRoundParams('start_round', cmd.value.params)).toEqual({ ok: true, value: start });
    expect(decodeRoundParams('cancel_round', { job: 'fed-kws.7', round: 3 })).toMatchObject({ ok: true });
  });

  it('uses the training library’s channel ratios', () => {
    expect([...ROUND_CHANNEL_RATIOS]).toEqual([...CHANNEL_RATIOS]);
  });

  it('names what is wrong in a bad start_round, and never throws', () => {
    const bad = (patch: Record<string, unknown>) => code(decodeRoundParams('start_round', { ...start, ...patch }));
    expect(bad({ baseSha256: 'AB'.repeat(32) })).toMatch(/baseSha256: SHA-256/);
    expect(bad({ job: 'has space' })).toMatch(/job: job ids/);
    expect(bad({ job: 'j'.repeat(65) })).toMatch(/job/);
    expect(bad({ round: -1 })).toMatch(/round/);
    expect(bad({ scheme: { ...start.scheme, weights: [{ op: 9, ratio: 0.3 }] } })).toMatch(/ratio must be one of/);
    expect(bad({ scheme: { ...start.scheme, weights: [{ op: 9, ratio: 0.25 }, { op: 9, ratio: 0.5 }] } })).toMatch(/at most once/);
    expect(bad({ scheme: { ...start.scheme, weights: Array.from({ length: 65 }, (_, op) => ({ op, ratio: 1 })) } })).toMatch(/weights/);
    expect(bad({ local: { ...start.local, epochs: 0 } })).toMatch(/local.epochs/);
    expect(bad({ local: { ...start.local, lr: 0 } })).toMatch(/local.lr/);
    expect(bad({ local: { ...start.local, samples: 1e9 } })).toMatch(/local.samples/);
    expect(bad({ local: { epochs: 1, samples: 1, lr: 0.1 } })).toMatch(/local.qas/);
    expect(bad({ seed: 2 ** 32 })).toMatch(/seed/);
    expect(bad({ deadline: 'soon' })).toMatch(/deadline/);
    for (const junk of [null, 7, 'x', [], { job: {} }]) expect(decodeRoundParams('start_round', junk).ok).toBe(false);
  });

  it('fits a large scheme into one command payload', () => {
    const big = { ...start, scheme: { ...start.scheme, weights: Array.from({ length: 64 }, (_, op) => ({ op: 4000 + op, ratio: 0.125 })) } };
    expect(decodeRoundParams('start_round', big).ok).toBe(true);
    expect(() => encodeMessage('cmd', { v: 1, id: 'r', name: 'start_round', params: big, ts: 1 })).not.toThrow();
  });

  it('decodes the results of both commands', () => {
    expect(decodeRoundCommandResult('start_round', { accepted: true, memoryBytes: 81234 })).toMatchObject({ ok: true });
    expect(decodeRoundCommandResult('start_round', { accepted: false, memoryBytes: 1 }).ok).toBe(false);
    expect(decodeRoundCommandResult('cancel_round', { canceled: false })).toMatchObject({ ok: true });
  });

  it('carries personalization: mode, minGain, kept and reset_personalization (v1.2)', () => {
    const personal = { ...start, job: 'ps-1', round: 0, mode: 'personalize' as const, minGain: 0.02 };
    expect(decodeRoundParams('start_round', personal)).toEqual({ ok: true, value: personal });
    expect(code(decodeRoundParams('start_round', { ...start, mode: 'solo' }))).toMatch(/mode/);
    expect(code(decodeRoundParams('start_round', { ...start, minGain: 2 }))).toMatch(/minGain/);
    expect(decodeRoundParams('reset_personalization', {}).ok).toBe(true);
    expect(decodeRoundCommandResult('reset_personalization', { reset: true, digest: 'cd'.repeat(32) })).toMatchObject({ ok: true });
    expect(code(decodeRoundCommandResult('reset_personalization', { reset: true, digest: 'xyz' }))).toMatch(/digest/);
    const result = { job: 'ps-1', round: 0, ok: true, tid: '0123456789abcdef', bytes: 10, sha256: 'ab'.repeat(32), samples: 5, loss: 0.1, accuracyBefore: 0.5, accuracyAfter: 0.6, trainMs: 3, kept: true };
    expect(decodeRoundEvent('round_result', result)).toEqual({ ok: true, value: { kind: 'round_result', data: result } });
  });

  it('reports a device\'s digest and personalization in its birth, and the expected digest in an offer', () => {
    const birth = { v: 1, state: 'online', ts: 1, fw: '1.2.0', runtime: 'rt/0.1', mcu: 'stm32f746', sramFree: 1000, flashFree: 1000, proto: '1.2', telemetryIntervalMs: 5000,
      slots: [{ slot: 'a', model: 'm@1', active: true, sha256: 'ab'.repeat(32), confirmed: true, digest: 'cd'.repeat(32) }],
      personalized: { session: 'ps-1', digest: 'ef'.repeat(32) } };
    expect(BirthMessage.safeParse(birth).success).toBe(true);
    expect(BirthMessage.safeParse({ ...birth, personalized: { session: 'ps-1', digest: 'no' } }).success).toBe(false);
    const offer = { v: 1, t: 'offer', tid: '0123456789abcdef', kind: 'delta', size: 10, blockSize: 1024, blockCount: 1, sha256: 'ab'.repeat(32), window: 8, round: { job: 'j', round: 1 }, digest: 'cd'.repeat(32), ts: 1 };
    expect(TransferOffer.safeParse(offer).success).toBe(true);
    expect(TransferOffer.safeParse({ ...offer, digest: 'CD' }).success).toBe(false);
    expect(TransferErrorCode.options).toEqual(expect.arrayContaining(['VERSION_MISMATCH', 'REJECTED', 'UNKNOWN_ROUND', 'DUPLICATE']));
  });

  it('has the refusal codes of the issue', () => {
    expect(RoundErrorCode.options).toEqual(['VERSION_MISMATCH', 'INSUFFICIENT_MEMORY', 'NO_DATA', 'BUSY', 'LOW_BATTERY', 'CANCELED']);
  });
});

describe('round events', () => {
  const ok = {
    job: 'fed-kws.7',
    round: 3,
    ok: true,
    tid: '0123456789abcdef',
    bytes: 1834,
    sha256: 'cd'.repeat(32),
    samples: 120,
    loss: 0.42,
    accuracyBefore: 0.71,
    accuracyAfter: 0.83,
    trainMs: 5400,
  };

  it('decodes progress and both kinds of result from an evt', () => {
    const evt = decodeEvent(JSON.stringify({ v: 1, ts: 5, kind: 'round_progress', level: 'info', message: 'epoch 1/2', data: { job: 'fed-kws.7', round: 3, phase: 'training', epoch: 1, epochs: 2, sample: 50, samples: 120, loss: 0.9 } }));
    expect(evt.ok).toBe(true);
    if (!evt.ok) return;
    expect(isRoundEventKind(evt.value.kind)).toBe(true);
    expect(decodeRoundEvent('round_progress', evt.value.data)).toMatchObject({ ok: true, value: { kind: 'round_progress', data: { phase: 'training', sample: 50 } } });
    expect(decodeRoundEvent('round_result', ok)).toEqual({ ok: true, value: { kind: 'round_result', data: ok } });
    const failed = { job: 'fed-kws.7', round: 3, ok: false, code: 'LOW_BATTERY', message: 'battery 9 % < 20 %' };
    expect(decodeRoundEvent('round_result', failed)).toEqual({ ok: true, value: { kind: 'round_result', data: failed } });
    expect(isRoundEventKind('boot')).toBe(false);
  });

  it('rejects bad progress and results by field', () => {
    const bad = (data: unknown) => code(decodeRoundEvent('round_result', data));
    expect(bad({ ...ok, accuracyAfter: 1.2 })).toMatch(/accuracyAfter/);
    expect(bad({ ...ok, tid: 'xyz' })).toMatch(/tid/);
    expect(bad({ ...ok, samples: 0 })).toMatch(/samples/);
    expect(bad({ ...ok, loss: -1 })).toMatch(/loss/);
    expect(bad({ job: 'j', round: 1, ok: false, code: 'low battery', message: '' })).toMatch(/UPPER_SNAKE_CASE/);
    expect(bad({ job: 'j', round: 1, ok: false, code: 'NO_DATA', message: 'x'.repeat(1025) })).toMatch(/message/);
    expect(bad(undefined)).toMatch(/invalid round_result/);
    expect(code(decodeRoundEvent('round_progress', { job: 'j', round: 1, phase: 'sleeping' }))).toMatch(/phase/);
  });
});
