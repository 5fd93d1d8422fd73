import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DuplicateDeviceError, Store } from '../../../src-main/core/store';

let store: Store;
const row = (id: string, mcu: string, tags: string[], name = id) => ({ id, name, tags, mcu, simulated: false, createdAt: 1, secretHash: 'h', mosquittoHash: 'm' });
const base = { sort: 'id' as const, order: 'asc' as const, offset: 0, limit: 100 };

beforeEach(() => {
  store = Store.openFile(':memory:');
  store.devices.insertMany([row('a-1', 'rp2040', ['north']), row('b-2', 'stm32f746', ['south', 'roof'], '100%_sure'), row('c-3', 'rp2040', [])]);
});
afterEach(() => store.close());

describe('DevicesRepo', () => {
  it('refuses a duplicate id and inserts nothing of that batch', () => {
    expect(() => store.devices.insertMany([row('d-4', 'rp2040', []), row('a-1', 'rp2040', [])])).toThrow(DuplicateDeviceError);
    expect(store.devices.has('d-4')).toBe(false);
  });

  it('filters by status, MCU, tags and search (LIKE wildcards are literal), with the total before paging', () => {
    const ids = (f: Partial<Parameters<Store['devices']['list']>[0]>) => store.devices.list({ ...base, ...f }).devices.map((d) => d.id);
    expect(ids({ mcu: ['rp2040'] })).toEqual(['a-1', 'c-3']);
    expect(ids({ tags: ['roof', 'north'] })).toEqual(['a-1', 'b-2']);
    expect(ids({ search: '%_' })).toEqual(['b-2']);
    expect(ids({ search: '_' })).toEqual(['b-2']);
    store.devices.setStatus('c-3', 'online', 5);
    expect(ids({ status: ['online'] })).toEqual(['c-3']);
    expect(ids({ sort: 'lastSeen', order: 'desc' })[0]).toBe('c-3');
    const page = store.devices.list({ ...base, limit: 1, offset: 1 });
    expect(page).toMatchObject({ total: 3, devices: [{ id: 'b-2' }] });
  });

  it('reads many devices in one statement and skips unknown ids', () => {
    expect(store.devices.getSummaries(['c-3', 'ghost', 'a-1']).map((d) => d.id).sort()).toEqual(['a-1', 'c-3']);
    expect(store.devices.getSummaries([])).toEqual([]);
  });

  it('counts by status and MCU', () => {
    store.devices.setStatus('a-1', 'lost', 2);
    expect(store.devices.counts()).toEqual({ total: 3, byStatus: { online: 0, offline: 0, lost: 1, unknown: 2 }, byMcu: { rp2040: 2, stm32f746: 1 } });
  });
});
