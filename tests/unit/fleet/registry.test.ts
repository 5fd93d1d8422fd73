import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreAuthenticator, verifyMosquittoPasswordHash, verifySecret } from '../../../src-main/core/broker';
import { AppError } from '../../../src-main/core/contract';
import { DeviceRegistry } from '../../../src-main/core/fleet';
import { Store } from '../../../src-main/core/store';

let store: Store;
let registry: DeviceRegistry;
const events: string[] = [];

beforeEach(() => {
  store = Store.openFile(':memory:');
  events.length = 0;
  registry = new DeviceRegistry(store, {
    mcuIds: new Set(['rp2040', 'stm32f746']),
    clock: () => 1_000,
    listener: { added: (ids) => events.push(`added ${ids.join(',')}`), removed: (id) => events.push(`removed ${id}`), credentialsRevoked: (id) => events.push(`revoked ${id}`) },
  });
});
afterEach(() => store.close());

async function rejects(p: Promise<unknown> | (() => unknown), code: string, message: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AppError);
  expect((caught as AppError).code).toBe(code);
  expect((caught as AppError).message).toMatch(message);
}

describe('DeviceRegistry', () => {
  it('provisions a device, stores only hashes of its secret and audits the action', async () => {
    const { device, secret } = await registry.add({ id: 'pump-1', name: 'Pump', mcu: 'rp2040', tags: ['site:a', 'site:a'] }, 'test');
    expect(device).toMatchObject({ id: 'pump-1', name: 'Pump', mcu: 'rp2040', tags: ['site:a'], status: 'unknown', simulated: false, createdAt: 1000 });
    const creds = store.devices.credentials('pump-1')!;
    expect(creds.secretHash).not.toContain(secret);
    expect(await verifySecret(secret, creds.secretHash)).toBe(true);
    expect(await verifyMosquittoPasswordHash(secret, creds.mosquittoHash)).toBe(true);
    expect(store.audit.recent(10)).toMatchObject([{ actor: 'test', action: 'device.add', target: 'pump-1' }]);
    expect(events).toEqual(['added pump-1']);
  });

  it('generates ids, names devices after them and refuses bad input with a clear error', async () => {
    const { device } = await registry.add({ mcu: 'stm32f746' }, 'test');
    expect(device.id).toMatch(/^dev-[0-9a-f]{8}$/);
    expect(device.name).toBe(device.id);
    await rejects(registry.add({ mcu: 'esp8266' }, 't'), 'BAD_REQUEST', /unknown MCU profile "esp8266" \(known: rp2040, stm32f746\)/);
    await rejects(registry.add({ id: 'Bad Id', mcu: 'rp2040' }, 't'), 'BAD_REQUEST', /invalid id "Bad Id"/);
    await rejects(registry.add({ mcu: 'rp2040', tags: ['no spaces'] }, 't'), 'BAD_REQUEST', /invalid tag "no spaces"/);
    await rejects(registry.add({ id: device.id, mcu: 'rp2040' }, 't'), 'CONFLICT', /already exists/);
    await rejects(registry.add({ id: 'tinyfleet-operator', mcu: 'rp2040' }, 't'), 'BAD_REQUEST', /reserved/);
  });

  it('provisions many devices in one go, all or none', async () => {
    const many = await registry.provisionMany(
      Array.from({ length: 50 }, (_, i) => ({ id: `sim-${i}`, mcu: 'rp2040', simulated: true })),
      'sim',
      { cost: 'simulated' },
    );
    expect(many).toHaveLength(50);
    expect(store.devices.get('sim-7')?.simulated).toBe(true);
    expect(store.devices.credentials('sim-7')!.secretHash).toMatch(/^scrypt\$8\$/);
    await rejects(registry.provisionMany([{ id: 'new-1', mcu: 'rp2040' }, { id: 'sim-3', mcu: 'rp2040' }], 't'), 'CONFLICT', /"sim-3" already exists/);
    expect(store.devices.has('new-1')).toBe(false);
  });

  it('imports CSV: valid lines are added, every bad line is reported by number', async () => {
    await registry.add({ id: 'taken', mcu: 'rp2040' }, 't');
    const csv = [
      'id,name,mcu,tags',
      'a-1,Alpha,rp2040,north;roof',
      'a-1,Again,rp2040,',
      'Bad!,x,rp2040,',
      'b-1,Beta,pic16,',
      'taken,T,rp2040,',
      ',Anonymous,stm32f746,"x y"',
      'c-1,Gamma,stm32f746,bad tag!',
      '',
    ].join('\n');
    const progress: number[] = [];
    const { added, errors, notes } = await registry.importCsv(csv, 'cli', { onProgress: (done) => progress.push(done) });
    expect(added.map((a) => a.device.name)).toEqual(['Alpha', 'Anonymous']);
    // The row without an id is added under a generated one, and the result says so for that line.
    expect(notes).toEqual([{ line: 7, message: `no id given: the device was added as "${added[1].device.id}"` }]);
    expect(added[0].device.tags).toEqual(['north', 'roof']);
    expect(added[1].device.tags).toEqual(['x', 'y']);
    expect(errors).toEqual([
      { line: 3, message: 'duplicate id "a-1" (first on line 2)' },
      { line: 4, message: expect.stringMatching(/invalid id "Bad!"/) },
      { line: 5, message: expect.stringMatching(/unknown MCU profile "pic16"/) },
      { line: 6, message: 'device "taken" already exists' },
      { line: 8, message: expect.stringMatching(/invalid tag "tag!"/) },
    ]);
    expect(progress).toEqual([1, 2]);
    expect(store.audit.recent(1)[0]).toMatchObject({ action: 'device.import', details: { count: 2 } });
  });

  it('imports headerless CSV and refuses an unterminated quote without adding anything', async () => {
    const ok = await registry.importCsv('x-1,X,rp2040,a\n', 't');
    expect(ok.added.map((a) => a.device.id)).toEqual(['x-1']);
    await rejects(registry.importCsv('y-1,Y,rp2040,a\ny-2,"broken,rp2040,\n', 't'), 'BAD_REQUEST', /line 2.*never closed/);
    expect(store.devices.has('y-1')).toBe(false);
  });

  it('exports CSV that imports back into an empty registry', async () => {
    await registry.add({ id: 'e-1', name: '=cmd|calc', mcu: 'rp2040', tags: ['t1', 't2'] }, 't');
    await registry.add({ id: 'e-2', name: 'Plain, "quoted"', mcu: 'stm32f746' }, 't');
    const csv = registry.exportCsv();
    expect(csv.split('\n')[0]).toBe('id,name,mcu,tags,status,firmware,model,simulated,created_at,last_seen');
    // Times are ISO 8601 (UTC), never epoch milliseconds; a never-seen device has no last_seen.
    const e1 = csv.split('\n').find((l) => l.startsWith('e-1,'))!;
    expect(e1).toMatch(/,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z,$/);
    expect(e1.split(',').at(-2)).toBe(new Date(store.devices.get('e-1')!.createdAt).toISOString());
    const other = Store.openFile(':memory:');
    try {
      const back = await new DeviceRegistry(other).importCsv(csv, 't');
      expect(back.errors).toEqual([]);
      expect(other.devices.all().map((d) => [d.id, d.name, d.mcu, d.tags])).toEqual([
        ['e-1', '=cmd|calc', 'rp2040', ['t1', 't2']],
        ['e-2', 'Plain, "quoted"', 'stm32f746', []],
      ]);
    } finally {
      other.close();
    }
  });

  it('updates, rotates and removes; the old secret stops working', async () => {
    const { secret } = await registry.add({ id: 'r-1', mcu: 'rp2040' }, 't');
    expect(registry.update('r-1', { name: 'Renamed', tags: ['x'] }, 't')).toMatchObject({ name: 'Renamed', tags: ['x'] });
    await rejects(() => registry.update('nope', { name: 'x' }, 't'), 'NOT_FOUND', /no device "nope"/);
    const auth = new StoreAuthenticator(store.devices, { username: 'tinyfleet-operator', password: 'p'.repeat(20) });
    expect(await auth.authenticate('r-1', Buffer.from(secret))).not.toBeNull();
    const rotated = await registry.rotateSecret('r-1', 't');
    expect(rotated.secret).not.toBe(secret);
    expect(await auth.authenticate('r-1', Buffer.from(secret))).toBeNull();
    expect(await auth.authenticate('r-1', Buffer.from(rotated.secret))).not.toBeNull();
    expect(registry.remove('r-1', 't')).toBe(true);
    expect(registry.remove('r-1', 't')).toBe(false);
    expect(await auth.authenticate('r-1', Buffer.from(rotated.secret))).toBeNull();
    expect(events).toEqual(['added r-1', 'revoked r-1', 'removed r-1', 'revoked r-1']);
    expect(store.audit.recent(10).map((a) => a.action)).toEqual(['device.remove', 'device.rotateSecret', 'device.update', 'device.add']);
  });
});
