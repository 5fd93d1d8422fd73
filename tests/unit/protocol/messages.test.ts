import { describe, expect, it } from 'vitest';
import {
  decodeCommand,
  decodeEvent,
  decodeMessage,
  decodeResponse,
  decodeStatus,
  decodeTelemetry,
  encodeMessage,
  MAX_PAYLOAD_BYTES,
  StandardCommands,
  isStandardCommand,
  type BirthMessage,
} from '../../../src-main/core/protocol';

const birth: BirthMessage = {
  v: 1,
  state: 'online',
  ts: 1_700_000_000_000,
  fw: '1.0.0',
  runtime: 'tinyfleet-rt/0.1',
  mcu: 'stm32f746',
  sramFree: 200_000,
  flashFree: 500_000,
  slots: [
    { slot: 'a', model: 'kws@3', active: true },
    { slot: 'b', model: null, active: false },
  ],
  telemetryIntervalMs: 1000,
};

describe('status messages', () => {
  it('decodes birth, offline and last will', () => {
    expect(decodeStatus(JSON.stringify(birth))).toEqual({ ok: true, value: birth });
    const off = decodeStatus('{"v":1,"state":"offline","ts":5,"reason":"reboot"}');
    expect(off).toEqual({ ok: true, value: { v: 1, state: 'offline', ts: 5, reason: 'reboot' } });
    expect(decodeStatus(Buffer.from('{"v":1,"state":"lost","ts":0}'))).toMatchObject({ ok: true, value: { state: 'lost' } });
  });

  it('requires the device description in a birth', () => {
    const { fw: _fw, ...noFw } = birth;
    const r = decodeStatus(JSON.stringify(noFw));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatchObject({ code: 'INVALID', message: expect.stringContaining('fw') });
  });

  it('rejects unknown states, three slots and bad slot names', () => {
    expect(decodeStatus('{"v":1,"state":"sleeping","ts":1}').ok).toBe(false);
    expect(decodeStatus(JSON.stringify({ ...birth, slots: [...birth.slots, birth.slots[0]] })).ok).toBe(false);
    expect(decodeStatus(JSON.stringify({ ...birth, slots: [{ slot: 'c', model: null, active: false }] })).ok).toBe(false);
  });

  it('ignores unknown fields (forward compatibility)', () => {
    const r = decodeStatus(JSON.stringify({ ...birth, futureField: { x: 1 } }));
    expect(r).toEqual({ ok: true, value: birth });
  });
});

describe('telemetry', () => {
  const t = { v: 1, ts: 10, seq: 3, battery: 87.5, temperature: 24.1, rssi: -61, freeHeap: 40_000, inferenceMs: 12.3, metrics: { score: 0.9 } };

  it('decodes a full sample and fills defaults', () => {
    expect(decodeTelemetry(JSON.stringify(t))).toEqual({ ok: true, value: t });
    expect(decodeTelemetry('{"v":1,"ts":1,"seq":0}')).toEqual({ ok: true, value: { v: 1, ts: 1, seq: 0, metrics: {} } });
  });

  it.each([
    ['battery above 100', { ...t, battery: 101 }],
    ['positive rssi', { ...t, rssi: 3 }],
    ['negative seq', { ...t, seq: -1 }],
    ['fractional seq', { ...t, seq: 1.5 }],
    ['string metric', { ...t, metrics: { a: 'x' } }],
    ['metric name with a slash', { ...t, metrics: { 'a/b': 1 } }],
    ['too many metrics', { ...t, metrics: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`m${i}`, i])) }],
    ['missing ts', { v: 1, seq: 0 }],
    ['missing v', { ts: 1, seq: 0 }],
  ])('rejects %s', (_name, msg) => {
    const r = decodeTelemetry(JSON.stringify(msg));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('INVALID');
  });

  it('reports another major version as UNSUPPORTED_VERSION', () => {
    const r = decodeTelemetry(JSON.stringify({ ...t, v: 2 }));
    expect(r).toMatchObject({ ok: false, error: { code: 'UNSUPPORTED_VERSION' } });
  });
});

describe('untrusted payloads never throw', () => {
  it.each(['', 'not json', '{', 'null', '[]', '42', '"x"', '\u0000\u0001'])('rejects %j', (payload) => {
    for (const kind of ['status', 'telemetry', 'cmd', 'res', 'evt'] as const) {
      const r = decodeMessage(kind, payload);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(['MALFORMED_JSON', 'INVALID']).toContain(r.error.code);
    }
  });

  it('rejects oversize payloads before parsing them', () => {
    const big = Buffer.alloc(MAX_PAYLOAD_BYTES.telemetry + 1, 0x20); // whitespace: valid JSON prefix, never parsed
    expect(decodeTelemetry(big)).toMatchObject({ ok: false, error: { code: 'TOO_LARGE' } });
    // Limits count UTF-8 bytes, not characters.
    const multibyte = JSON.stringify({ v: 1, ts: 1, kind: 'x', level: 'info', message: 'é'.repeat(2100) });
    expect(multibyte.length).toBeLessThan(MAX_PAYLOAD_BYTES.evt);
    expect(decodeEvent(multibyte)).toMatchObject({ ok: false, error: { code: 'TOO_LARGE' } });
  });

  it('accepts a payload exactly at the limit', () => {
    const base = JSON.stringify({ v: 1, ts: 1, seq: 1 });
    const padded = base.slice(0, -1) + ' '.repeat(MAX_PAYLOAD_BYTES.telemetry - base.length) + '}';
    expect(Buffer.byteLength(padded)).toBe(MAX_PAYLOAD_BYTES.telemetry);
    expect(decodeTelemetry(padded).ok).toBe(true);
  });

  it('decodes Uint8Array views that are not Buffers', () => {
    const bytes = new TextEncoder().encode('xx{"v":1,"ts":1,"seq":9}');
    const view = new Uint8Array(bytes.buffer, 2);
    expect(decodeTelemetry(view)).toMatchObject({ ok: true, value: { seq: 9 } });
  });
});

describe('commands, responses, events', () => {
  it('decodes a command and defaults its params', () => {
    expect(decodeCommand('{"v":1,"id":"c-1","name":"ping","ts":3}')).toEqual({ ok: true, value: { v: 1, id: 'c-1', name: 'ping', params: {}, ts: 3 } });
    expect(decodeCommand('{"v":1,"id":"c 1","name":"ping","ts":3}').ok).toBe(false);
    expect(decodeCommand('{"v":1,"id":"c1","name":"Ping","ts":3}').ok).toBe(false);
    expect(decodeCommand('{"v":1,"id":"c1","name":"ping","params":[1],"ts":3}').ok).toBe(false);
  });

  it('requires an error on failed responses', () => {
    expect(decodeResponse('{"v":1,"id":"c1","ok":true,"result":{"pong":true,"uptimeMs":5}}').ok).toBe(true);
    expect(decodeResponse('{"v":1,"id":"c1","ok":false,"error":{"code":"BUSY","message":"later"}}').ok).toBe(true);
    const r = decodeResponse('{"v":1,"id":"c1","ok":false}');
    expect(r).toMatchObject({ ok: false, error: { code: 'INVALID', message: expect.stringContaining('error') } });
  });

  it('checks event levels and kinds', () => {
    expect(decodeEvent('{"v":1,"ts":1,"kind":"boot","level":"info","message":"booted","data":{"reason":"power_on"}}').ok).toBe(true);
    expect(decodeEvent('{"v":1,"ts":1,"kind":"boot","level":"fatal","message":"x"}').ok).toBe(false);
    expect(decodeEvent('{"v":1,"ts":1,"kind":"Boot Up","level":"info","message":"x"}').ok).toBe(false);
  });

  it('validates standard command params and results', () => {
    expect(isStandardCommand('reboot')).toBe(true);
    expect(isStandardCommand('toString')).toBe(false);
    expect(StandardCommands.set_telemetry_interval.params.safeParse({ ms: 50 }).success).toBe(false);
    expect(StandardCommands.set_telemetry_interval.params.safeParse({ ms: 500 }).success).toBe(true);
    expect(StandardCommands.ping.result.safeParse({ pong: true, uptimeMs: 12 }).success).toBe(true);
  });
});

describe('encodeMessage', () => {
  it('round-trips and refuses oversize output', () => {
    const text = encodeMessage('status', birth);
    expect(decodeStatus(text)).toEqual({ ok: true, value: birth });
    expect(() => encodeMessage('evt', { v: 1, ts: 1, kind: 'x', level: 'info', message: 'y'.repeat(5000) })).toThrow(/exceeds/);
  });
});
