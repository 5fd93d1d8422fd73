import { describe, expect, it } from 'vitest';
import { deviceConnection } from '../../../src-main/core/fleet/device-connection';

describe('deviceConnection', () => {
  it('gives firmware the exact topics, the block transfer split by who publishes', () => {
    const c = deviceConnection('dev-7', 'mqtt://10.0.0.5:1884');
    expect(c).toMatchObject({ host: '10.0.0.5', port: 1884, tls: false, username: 'dev-7', subtree: 'tf/v1/dev-7/#' });
    expect(c.publish).toEqual(expect.arrayContaining(['tf/v1/dev-7/status', 'tf/v1/dev-7/telemetry', 'tf/v1/dev-7/res', 'tf/v1/dev-7/evt', 'tf/v1/dev-7/xfer/dev/ctl', 'tf/v1/dev-7/xfer/dev/blk']));
    expect(c.subscribe).toEqual(expect.arrayContaining(['tf/v1/dev-7/cmd', 'tf/v1/dev-7/xfer/app/ctl', 'tf/v1/dev-7/xfer/app/blk']));
    for (const topic of [...c.publish, ...c.subscribe]) expect(topic).not.toMatch(/[#+]/);
    expect(c.publish.some((t) => t.includes('/xfer/app/'))).toBe(false);
    expect(c.subscribe.some((t) => t.includes('/xfer/dev/'))).toBe(false);
  });

  it('takes the default port of the scheme and says when it is TLS', () => {
    expect(deviceConnection('d', 'mqtts://broker.example')).toMatchObject({ port: 8883, tls: true });
    expect(deviceConnection('d', 'ws://broker.example/mqtt')).toMatchObject({ port: 80, tls: false });
  });
});
