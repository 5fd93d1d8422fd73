import { describe, expect, it } from 'vitest';
import {
  APP_SUBSCRIPTIONS,
  deviceMayUse,
  deviceSubtreeFilter,
  deviceTopic,
  deviceTopics,
  isReservedTopic,
  parseTopic,
  TOPIC_RULES,
} from '../../../src-main/core/protocol';

describe('topic builders', () => {
  it('builds every kind under the device subtree', () => {
    expect(deviceTopic('dev-1', 'telemetry')).toBe('tf/v1/dev-1/telemetry');
    expect(deviceTopics('a_b')).toEqual({
      status: 'tf/v1/a_b/status',
      telemetry: 'tf/v1/a_b/telemetry',
      cmd: 'tf/v1/a_b/cmd',
      res: 'tf/v1/a_b/res',
      evt: 'tf/v1/a_b/evt',
    });
    expect(deviceSubtreeFilter('x1')).toBe('tf/v1/x1/#');
  });

  it('refuses ids that would break the topic tree', () => {
    for (const bad of ['', 'A', 'a/b', '+', '#', 'a+', '-x', 'x'.repeat(65)]) {
      expect(() => deviceTopic(bad, 'status')).toThrow(/invalid device id/);
    }
  });

  it('declares QoS and retain per kind as the spec says', () => {
    expect(TOPIC_RULES.status).toEqual({ qos: 1, retain: true, from: 'device' });
    expect(TOPIC_RULES.telemetry.qos).toBe(0);
    expect(TOPIC_RULES.cmd).toMatchObject({ qos: 1, from: 'app' });
    expect(APP_SUBSCRIPTIONS.map((s) => s.filter)).toEqual(['tf/v1/+/status', 'tf/v1/+/telemetry', 'tf/v1/+/res', 'tf/v1/+/evt']);
  });
});

describe('parseTopic', () => {
  it('parses concrete v1 topics', () => {
    expect(parseTopic('tf/v1/dev-7/status')).toEqual({ deviceId: 'dev-7', kind: 'status' });
    expect(parseTopic('tf/v1/0/evt')).toEqual({ deviceId: '0', kind: 'evt' });
  });

  it.each([
    'tf/v1/+/status', // wildcard in place of the id
    'tf/v1/#',
    'tf/v1/dev/#',
    'tf/v1/dev/+',
    'tf/v2/dev/status', // other major version
    '/tf/v1/dev/status', // leading slash
    'tf/v1/dev/status/extra',
    'tf/v1//status',
    'tf/v1/dev/',
    'tf/v1/dev',
    'tf/v1/DEV/status', // uppercase ids are not ids
    'tf/v1/dev/Status',
    'tf/v1/dev/xfer/req', // reserved block transfer
    'tf/v1/dev/unknown',
    '',
    'tf/v1/' + 'a'.repeat(65) + '/status',
  ])('rejects %s', (topic) => {
    expect(parseTopic(topic)).toBeNull();
  });

  it('recognises the reserved block-transfer area', () => {
    expect(isReservedTopic('tf/v1/dev/xfer/req')).toBe(true);
    expect(isReservedTopic('tf/v1/dev/xfer')).toBe(true);
    expect(isReservedTopic('tf/v1/dev/status')).toBe(false);
  });
});

describe('deviceMayUse (ACL rule)', () => {
  it('allows topics and filters inside the own subtree', () => {
    for (const t of ['tf/v1/a/status', 'tf/v1/a/cmd', 'tf/v1/a/#', 'tf/v1/a/+', 'tf/v1/a/xfer/+/blocks', 'tf/v1/a/xfer/#']) {
      expect(deviceMayUse('a', t), t).toBe(true);
    }
  });

  it("refuses other devices' topics, wildcards over ids and odd filters", () => {
    for (const t of [
      'tf/v1/b/cmd',
      'tf/v1/+/cmd',
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
      expect(deviceMayUse('a', t), t).toBe(false);
    }
    expect(deviceMayUse('+', 'tf/v1/+/status')).toBe(false);
  });
});
