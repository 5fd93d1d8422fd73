import { createHash, timingSafeEqual } from 'node:crypto';
import { isDeviceId } from '../protocol';
import { OPERATOR_USERNAME, type Principal } from './acl';
import { verifySecret } from './credentials';
import type { OperatorCredentials } from './operator-credentials';
import { systemClock, type Clock } from '../common/clock';

/** Decides who an MQTT login is; null denies it. */
export interface Authenticator {
  authenticate(username: string | undefined, password: Buffer | undefined): Promise<Principal | null>;
}

/** Where device credential hashes come from (the store's DevicesRepo fits). */
export interface DeviceCredentialSource {
  credentials(id: string): { secretHash: string } | undefined;
}

interface CachedLogin {
  /** SHA-256 of the secret that passed scrypt. */
  digest: Buffer;
  /** The stored hash it was checked against: a rotation or removal changes it and voids the entry. */
  secretHash: string;
  expiresAt: number;
}

const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

/**
 * Authenticates the operator (constant-time compare with its password) and devices (scrypt against
 * the stored hash). A successful device login is cached for `cacheTtlMs`, keyed by the stored hash,
 * so a fleet reconnecting after a network blip does not pay one scrypt per device, while a rotated
 * or removed device is refused at once. The device row is read on every login.
 */
export class StoreAuthenticator implements Authenticator {
  private readonly cache = new Map<string, CachedLogin>();
  private readonly operatorDigest: Buffer;

  constructor(
    private readonly devices: DeviceCredentialSource,
    operator: OperatorCredentials,
    private readonly cacheTtlMs = 10 * 60_000,
    private readonly now: Clock = systemClock,
  ) {
    this.operatorDigest = sha256(Buffer.from(operator.password, 'utf8'));
  }

  async authenticate(username: string | undefined, password: Buffer | undefined): Promise<Principal | null> {
    if (username === undefined || password === undefined || password.length === 0 || password.length > 1024) return null;
    const digest = sha256(password);
    if (username === OPERATOR_USERNAME) return timingSafeEqual(digest, this.operatorDigest) ? { kind: 'operator' } : null;
    if (!isDeviceId(username)) return null;
    const stored = this.devices.credentials(username);
    if (!stored) return null;
    const cached = this.cache.get(username);
    if (cached && cached.secretHash === stored.secretHash && cached.expiresAt > this.now() && timingSafeEqual(cached.digest, digest)) {
      return { kind: 'device', id: username };
    }
    if (!(await verifySecret(password.toString('utf8'), stored.secretHash))) return null;
    // The device may have been removed or rotated while scrypt ran.
    if (this.devices.credentials(username)?.secretHash !== stored.secretHash) return null;
    this.cache.set(username, { digest, secretHash: stored.secretHash, expiresAt: this.now() + this.cacheTtlMs });
    return { kind: 'device', id: username };
  }
}
