import { pbkdf2Sync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  StoreAuthenticator,
  generateSecret,
  hashSecret,
  issueCredentials,
  mosquittoPasswordHash,
  verifyMosquittoPasswordHash,
  verifySecret,
} from '../../../src-main/core/broker';

describe('device credentials', () => {
  it('issues distinct 256-bit secrets', () => {
    const s = generateSecret();
    expect(Buffer.from(s, 'base64url')).toHaveLength(32);
    expect(generateSecret()).not.toBe(s);
  });

  it('verifies a secret against its scrypt hash and rejects others', async () => {
    const hash = await hashSecret('s3cret', 'simulated');
    expect(hash).toMatch(/^scrypt\$8\$8\$1\$/);
    expect(await verifySecret('s3cret', hash)).toBe(true);
    expect(await verifySecret('s3cret!', hash)).toBe(false);
    expect(await verifySecret('s3cret', 'garbage')).toBe(false);
    expect(await hashSecret('x', 'device')).toMatch(/^scrypt\$12\$/);
  });

  it("writes Mosquitto's $7$ PBKDF2-SHA512 format (12-byte salt, 64-byte key)", async () => {
    const hash = await mosquittoPasswordHash('pw', 101);
    const [, seven, iterations, salt, key] = hash.split('$');
    expect(seven).toBe('7');
    expect(iterations).toBe('101');
    expect(Buffer.from(salt, 'base64')).toHaveLength(12);
    expect(pbkdf2Sync('pw', Buffer.from(salt, 'base64'), 101, 64, 'sha512').toString('base64')).toBe(key);
    expect(await verifyMosquittoPasswordHash('pw', hash)).toBe(true);
    expect(await verifyMosquittoPasswordHash('pW', hash)).toBe(false);
  });

  it('issues cheaper hashes for simulated devices and records the parameters in each hash', async () => {
    const sim = await issueCredentials('simulated');
    const real = await issueCredentials('device');
    expect(sim.secretHash).toMatch(/^scrypt\$8\$/);
    expect(sim.mosquittoHash).toMatch(/^\$7\$101\$/);
    expect(real.secretHash).toMatch(/^scrypt\$12\$/);
    expect(real.mosquittoHash).toMatch(/^\$7\$1000\$/);
    expect(await verifySecret(real.secret, real.secretHash)).toBe(true);
    expect(await verifyMosquittoPasswordHash(sim.secret, sim.mosquittoHash)).toBe(true);
  });

  it('reads a hash made by mosquitto_passwd', async () => {
    // `mosquitto_passwd -b pw alice secret1` (Mosquitto 2.0.11)
    const fromMosquitto = '$7$101$1W9OojNOv14nwfHf$H/oEFm6U7QdsHn0TfugX2gWA5qtIEmiG0OWGm/j+k6o0Gx/s2jMXsx1LMs5gEuu/l0vgVwVRZcvHAb2Nv+Y7vg==';
    expect(await verifyMosquittoPasswordHash('secret1', fromMosquitto)).toBe(true);
  });
});

describe('StoreAuthenticator', () => {
  async function setup() {
    const creds = await issueCredentials('simulated');
    const table = new Map([['dev-a', { secretHash: creds.secretHash }]]);
    let now = 0;
    const auth = new StoreAuthenticator({ credentials: (id) => table.get(id) }, { username: 'tinyfleet-operator', password: 'operator-password-123' }, 1000, () => now);
    return { creds, table, auth, advance: (ms: number) => (now += ms) };
  }

  it('knows the operator and devices, and nobody else', async () => {
    const { creds, auth } = await setup();
    expect(await auth.authenticate('tinyfleet-operator', Buffer.from('operator-password-123'))).toEqual({ kind: 'operator' });
    expect(await auth.authenticate('tinyfleet-operator', Buffer.from('nope'))).toBeNull();
    expect(await auth.authenticate('dev-a', Buffer.from(creds.secret))).toEqual({ kind: 'device', id: 'dev-a' });
    expect(await auth.authenticate('dev-a', Buffer.from('wrong'))).toBeNull();
    expect(await auth.authenticate('dev-b', Buffer.from(creds.secret))).toBeNull();
    expect(await auth.authenticate(undefined, undefined)).toBeNull();
    expect(await auth.authenticate('dev-a', undefined)).toBeNull();
  });

  it('serves a repeated login from the cache but refuses it once the secret was rotated', async () => {
    const { creds, table, auth } = await setup();
    expect(await auth.authenticate('dev-a', Buffer.from(creds.secret))).not.toBeNull();
    // The old login is cached now; rotating the secret changes the stored hash and must void it.
    const rotated = await issueCredentials('simulated');
    table.set('dev-a', { secretHash: rotated.secretHash });
    expect(await auth.authenticate('dev-a', Buffer.from(creds.secret))).toBeNull();
    expect(await auth.authenticate('dev-a', Buffer.from(rotated.secret))).not.toBeNull();
    table.delete('dev-a');
    expect(await auth.authenticate('dev-a', Buffer.from(rotated.secret))).toBeNull();
  });
});
