import { describe, expect, it } from 'vitest';
import {
  APP_SUBSCRIPTIONS,
  deviceSubtreeFilter,
  deviceTopic,
  deviceTopics,
  MESSAGE_KINDS,
  parseTopic,
  TOPIC_KINDS,
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

  it('builds block-transfer topics from the levels below xfer, and refuses levels that are not plain', () => {
    expect(deviceTopic('dev-1', 'xfer', ['pkg-7', 'req'])).toBe('tf/v1/dev-1/xfer/pkg-7/req');
    for (const levels of [[], [''], ['a/b'], ['+'], ['#'], ['ok', 'x#']]) {
      expect(() => deviceTopic('dev-1', 'xfer', levels), JSON.stringify(levels)).toThrow(/invalid xfer topic levels/);
    }
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
    expect(TOPIC_RULES.xfer).toEqual({ qos: 1, retain: false, from: 'both', subtree: true, deviceLevel: 'dev' });
  });

  it('subscribes the app to every kind a device publishes, the block-transfer subtree included', () => {
    expect(APP_SUBSCRIPTIONS).toEqual([
      { filter: 'tf/v1/+/status', qos: 1 },
      { filter: 'tf/v1/+/telemetry', qos: 0 },
      { filter: 'tf/v1/+/res', qos: 1 },
      { filter: 'tf/v1/+/evt', qos: 1 },
      { filter: 'tf/v1/+/xfer/dev/#', qos: 1 },
    ]);
    expect(TOPIC_KINDS).toEqual([...MESSAGE_KINDS, 'xfer']);
  });
});

describe('parseTopic', () => {
  it('parses concrete v1 topics', () => {
    expect(parseTopic('tf/v1/dev-7/status')).toEqual({ deviceId: 'dev-7', kind: 'status' });
    expect(parseTopic('tf/v1/0/evt')).toEqual({ deviceId: '0', kind: 'evt' });
  });

  it('parses the block-transfer subtree with the levels below xfer', () => {
    expect(parseTopic('tf/v1/dev/xfer/req')).toEqual({ deviceId: 'dev', kind: 'xfer', levels: ['req'] });
    expect(parseTopic('tf/v1/dev/xfer/pkg-7/blk/12')).toEqual({ deviceId: 'dev', kind: 'xfer', levels: ['pkg-7', 'blk', '12'] });
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
    'tf/v1/dev/xfer', // the bare subtree kind is no topic
    'tf/v1/dev/xfer/', // empty level below it
    'tf/v1/dev/xfer/a//b',
    'tf/v1/dev/xfer/+',
    'tf/v1/dev/xfer/#',
    'tf/v1/dev/unknown',
    '',
    'tf/v1/' + 'a'.repeat(65) + '/status',
  ])('rejects %s', (topic) => {
    expect(parseTopic(topic)).toBeNull();
  });
});
