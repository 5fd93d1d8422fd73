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

  it('filters by active model (one version, or any version of a model id) and sorts versions as numbers', () => {
    store.devices.insertMany([row('d-4', 'rp2040', [])]);
    const birth = (model: string) => ({
      firmware: 'fw',
      runtime: 'rt',
      mcu: 'rp2040',
      sramFree: 1,
      flashFree: 1,
      slots: [{ slot: 'a' as const, model, active: true }],
      telemetryIntervalMs: 1000,
      proto: '1.1',
    });
    store.devices.applyBirth('a-1', birth('vww@10'), 1);
    store.devices.applyBirth('b-2', birth('vww@9'), 1);
    store.devices.applyBirth('c-3', birth('kws_1@2'), 1);
    const ids = (f: Partial<Parameters<Store['devices']['list']>[0]>) => store.devices.list({ ...base, ...f }).devices.map((d) => d.id);
    expect(ids({ model: 'vww@9' })).toEqual(['b-2']);
    expect(ids({ model: 'vww' })).toEqual(['a-1', 'b-2']);
    expect(ids({ model: 'kws%1' })).toEqual([]);
    expect(ids({ model: 'kws_1' })).toEqual(['c-3']);
    expect(ids({ sort: 'model' })).toEqual(['c-3', 'b-2', 'a-1', 'd-4']);
    expect(ids({ sort: 'model', order: 'desc' })).toEqual(['a-1', 'b-2', 'c-3', 'd-4']);
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
