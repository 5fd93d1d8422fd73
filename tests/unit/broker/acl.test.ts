import { describe, expect, it } from 'vitest';
import { mayPublish, maySubscribe, mosquittoAclLines, type Principal } from '../../../src-main/core/broker';

const a: Principal = { kind: 'device', id: 'dev-a' };
const operator: Principal = { kind: 'operator' };

describe('device ACL', () => {
  it('lets a device publish only its own status, telemetry, res, evt and xfer topics', () => {
    for (const kind of ['status', 'telemetry', 'res', 'evt']) expect(mayPublish(a, `tf/v1/dev-a/${kind}`), kind).toBe(true);
    expect(mayPublish(a, 'tf/v1/dev-a/xfer/pkg1/block')).toBe(true);
    for (const topic of ['tf/v1/dev-a/cmd', 'tf/v1/dev-b/telemetry', 'tf/v1/dev-a', 'tf/v1/dev-a/telemetry/x', 'tf/v2/dev-a/telemetry', 'tf/v1/dev-a/xfer', 'tf/v1/dev-a//x', '$SYS/x', 'tf/v1/dev-a/unknown']) {
      expect(mayPublish(a, topic), topic).toBe(false);
    }
  });

  it('lets a device subscribe only to its own cmd and xfer topics, never with a wildcard over ids', () => {
    expect(maySubscribe(a, 'tf/v1/dev-a/cmd')).toBe(true);
    expect(maySubscribe(a, 'tf/v1/dev-a/xfer/+/meta')).toBe(true);
    expect(maySubscribe(a, 'tf/v1/dev-a/xfer/#')).toBe(true);
    for (const filter of ['tf/v1/dev-b/cmd', 'tf/v1/+/cmd', 'tf/v1/#', '#', '+/v1/dev-a/cmd', 'tf/v1/dev-a/#', 'tf/v1/dev-a/+', 'tf/v1/dev-a/telemetry', 'tf/v1/dev-a/xfer/#/x', 'tf/v1/dev-a/xfer/a+']) {
      expect(maySubscribe(a, filter), filter).toBe(false);
    }
  });

  it("refuses other devices' topics, wildcards over ids or kinds and odd topics, for publish and subscribe alike", () => {
    // The cases of the former protocol-level rule (deviceMayUse), now held by the one rule the broker enforces.
    const x: Principal = { kind: 'device', id: 'a' };
    for (const t of [
      'tf/v1/b/cmd',
      'tf/v1/b/xfer/pkg/req',
      'tf/v1/+/cmd',
      'tf/v1/+/xfer/#',
      'tf/v1/#',
      'tf/#',
      '#',
      'tf/v1/ab/status', // prefix of another id must not match
      'tf/v1/a', // the id level alone is not inside the subtree
      'tf/v1/a/#/x',
      'tf/v1/a/st+',
      'tf/v1/a//status',
      'tf/v2/a/status',
      '$SYS/broker',
    ]) {
      expect(mayPublish(x, t), `publish ${t}`).toBe(false);
      expect(maySubscribe(x, t), `subscribe ${t}`).toBe(false);
    }
  });

  it('lets the operator do everything', () => {
    expect(mayPublish(operator, 'tf/v1/dev-a/cmd')).toBe(true);
    expect(maySubscribe(operator, '#')).toBe(true);
  });

  it('never trusts a principal with an invalid id', () => {
    const bad: Principal = { kind: 'device', id: '+' };
    expect(maySubscribe(bad, 'tf/v1/+/cmd')).toBe(false);
    expect(mayPublish(bad, 'tf/v1/+/telemetry')).toBe(false);
  });

  it('exports the same rules as Mosquitto pattern lines', () => {
    const lines = mosquittoAclLines();
    expect(lines).toContain('pattern read tf/v1/%u/cmd');
    expect(lines).toContain('pattern write tf/v1/%u/telemetry');
    expect(lines.filter((l) => l.startsWith('pattern write')).length).toBe(4);
    expect(lines.some((l) => /pattern (read|readwrite) tf\/v1\/%u\/#/.test(l))).toBe(false);
    // One line per kind of the topic table, with the access its direction gives a device.
    expect(lines.filter((l) => l.startsWith('pattern '))).toEqual([
      'pattern write tf/v1/%u/status',
      'pattern write tf/v1/%u/telemetry',
      'pattern read tf/v1/%u/cmd',
      'pattern write tf/v1/%u/res',
      'pattern write tf/v1/%u/evt',
      'pattern readwrite tf/v1/%u/xfer/#',
    ]);
  });
});
