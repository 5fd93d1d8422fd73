import { pbkdf2, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Device credentials. A device secret is 32 bytes from the CSPRNG (base64url), shown once and stored
 * only as hashes: a scrypt hash (verified by the embedded broker) and a Mosquitto `$7$` PBKDF2-SHA512
 * hash (written to the exported Mosquitto password file), both computed at provisioning time because
 * the secret is never kept.
 *
 * Cost choice: the key-derivation work factor protects low-entropy, human-chosen passwords against
 * offline guessing. Device secrets carry 256 random bits, which no work factor makes more or less
 * guessable, so TinyFleet uses moderate costs: scrypt N=2^12 for provisioned devices and N=2^8 for
 * simulated ones (10,000 of them are provisioned at once); for the Mosquitto hash 1,000 PBKDF2
 * iterations for provisioned devices and Mosquitto's own default of 101 for simulated ones.
 * All hashing is asynchronous and runs on libuv's thread pool, so provisioning and broker
 * authentication never block the main thread. The parameters are stored in each hash, so costs can
 * change without invalidating existing credentials.
 */

/** Work-factor profiles: real devices and simulated devices. */
export type SecretCost = 'device' | 'simulated';

const SCRYPT_LOG_N: Record<SecretCost, number> = { device: 12, simulated: 8 };
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const SCRYPT_KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Mosquitto's `$7$` format: PBKDF2-HMAC-SHA512 with a 12-byte salt and a 64-byte key. */
const MOSQUITTO_SALT_BYTES = 12;
const MOSQUITTO_KEY_BYTES = 64;
const MOSQUITTO_ITERATIONS: Record<SecretCost, number> = { device: 1000, simulated: 101 };

/** A fresh device secret: 32 random bytes, base64url (43 characters, safe in CSV and shells). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}

function scryptAsync(secret: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(secret, salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key))));
}

function pbkdf2Async(secret: string, salt: Buffer, iterations: number, keyLength: number): Promise<Buffer> {
  return new Promise((resolve, reject) => pbkdf2(secret, salt, iterations, keyLength, 'sha512', (err, key) => (err ? reject(err) : resolve(key))));
}

/** Hashes a secret with scrypt: `scrypt$<log2 N>$<r>$<p>$<salt b64>$<key b64>`. */
export async function hashSecret(secret: string, cost: SecretCost = 'device'): Promise<string> {
  const logN = SCRYPT_LOG_N[cost];
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(secret, salt, SCRYPT_KEY_BYTES, { N: 2 ** logN, r: SCRYPT_R, p: SCRYPT_P, maxmem: 64 * 1024 * 1024 });
  return ['scrypt', logN, SCRYPT_R, SCRYPT_P, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Checks a secret against a hash made by hashSecret (constant-time). False for a malformed hash. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number);
  if (![logN, r, p].every(Number.isInteger) || logN < 1 || logN > 20 || r < 1 || p < 1) return false;
  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  if (expected.length === 0) return false;
  const key = await scryptAsync(secret, salt, expected.length, { N: 2 ** logN, r, p, maxmem: 256 * 1024 * 1024 });
  return timingSafeEqual(key, expected);
}

/** Hashes a secret in Mosquitto's password-file format: `$7$<iterations>$<salt b64>$<key b64>`. */
export async function mosquittoPasswordHash(secret: string, iterations: number = MOSQUITTO_ITERATIONS.device): Promise<string> {
  const salt = randomBytes(MOSQUITTO_SALT_BYTES);
  const key = await pbkdf2Async(secret, salt, iterations, MOSQUITTO_KEY_BYTES);
  return `$7$${iterations}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Checks a secret against a Mosquitto `$7$` hash (constant-time). */
export async function verifyMosquittoPasswordHash(secret: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 5 || parts[0] !== '' || parts[1] !== '7') return false;
  const iterations = Number(parts[2]);
  if (!Number.isInteger(iterations) || iterations < 1) return false;
  const expected = Buffer.from(parts[4], 'base64');
  const key = await pbkdf2Async(secret, Buffer.from(parts[3], 'base64'), iterations, expected.length || MOSQUITTO_KEY_BYTES);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** The stored hashes of one secret. */
export interface CredentialHashes {
  secretHash: string;
  mosquittoHash: string;
}

/** Issues a new secret and both of its hashes. */
export async function issueCredentials(cost: SecretCost = 'device'): Promise<{ secret: string } & CredentialHashes> {
  const secret = generateSecret();
  const [secretHash, mosquittoHash] = await Promise.all([hashSecret(secret, cost), mosquittoPasswordHash(secret, MOSQUITTO_ITERATIONS[cost])]);
  return { secret, secretHash, mosquittoHash };
}
