import { describe, expect, it } from 'vitest';
import { DeviceIndex } from '../../../src-renderer/features/fleet/device-index';
import {
  NO_MODEL,
  buildView,
  collectFacets,
  createComparator,
  emptyFilter,
  patchView,
  type DeviceSort,
} from '../../../src-renderer/features/fleet/device-view';
import { device } from './fixtures';

const byId: DeviceSort = { key: 'id', order: 'asc' };
const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

describe('device filters', () => {
  const fleet = [
    device('a-1', { status: 'online', mcu: 'rp2040', tags: ['lab'], model: 'kws@1' }),
    device('a-2', { status: 'lost', mcu: 'stm32f746', tags: ['field', 'roof'] }),
    device('b-1', { status: 'offline', mcu: 'rp2040', name: 'Greenhouse sensor' }),
    device('b-2', { status: 'unknown', mcu: 'nrf52840', tags: ['field'], model: 'kws@2' }),
  ];

  it('keeps everything with an empty filter', () => {
    expect(ids(buildView(fleet, emptyFilter(), byId).rows)).toEqual(['a-1', 'a-2', 'b-1', 'b-2']);
  });

  it('matches any value within a filter and all filters together', () => {
    const filter = { ...emptyFilter(), statuses: ['online' as const, 'offline' as const], mcus: ['rp2040'] };
    expect(ids(buildView(fleet, filter, byId).rows)).toEqual(['a-1', 'b-1']);
    expect(ids(buildView(fleet, { ...emptyFilter(), tags: ['roof', 'lab'] }, byId).rows)).toEqual(['a-1', 'a-2']);
  });

  it('filters by model, including devices without one', () => {
    expect(ids(buildView(fleet, { ...emptyFilter(), models: ['kws@2'] }, byId).rows)).toEqual(['b-2']);
    expect(ids(buildView(fleet, { ...emptyFilter(), models: [NO_MODEL] }, byId).rows)).toEqual(['a-2', 'b-1']);
  });

  it('searches ids and names case-insensitively', () => {
    expect(ids(buildView(fleet, { ...emptyFilter(), search: ' GREENHOUSE ' }, byId).rows)).toEqual(['b-1']);
    expect(ids(buildView(fleet, { ...emptyFilter(), search: 'a-' }, byId).rows)).toEqual(['a-1', 'a-2']);
  });

  it('collects facet choices', () => {
    expect(collectFacets(fleet)).toEqual({
      mcus: ['nrf52840', 'rp2040', 'stm32f746'],
      tags: ['field', 'lab', 'roof'],
      models: [NO_MODEL, 'kws@1', 'kws@2'],
    });
  });
});

describe('device sorting', () => {
  it('sorts ids naturally (sim-2 before sim-10)', () => {
    const rows = [device('sim-10'), device('sim-2'), device('sim-1')];
    expect(ids(buildView(rows, emptyFilter(), byId).rows)).toEqual(['sim-1', 'sim-2', 'sim-10']);
    expect(ids(buildView(rows, emptyFilter(), { key: 'id', order: 'desc' }).rows)).toEqual(['sim-10', 'sim-2', 'sim-1']);
  });

  it('puts missing values last in both orders and breaks ties by id', () => {
    const rows = [device('c', { battery: null }), device('b', { battery: 50 }), device('a', { battery: 50 }), device('d', { battery: 80 })];
    expect(ids(buildView(rows, emptyFilter(), { key: 'battery', order: 'asc' }).rows)).toEqual(['a', 'b', 'd', 'c']);
    expect(ids(buildView(rows, emptyFilter(), { key: 'battery', order: 'desc' }).rows)).toEqual(['d', 'a', 'b', 'c']);
  });

  it('sorts status by urgency: lost, offline, unknown, online', () => {
    const rows = [device('a', { status: 'online' }), device('b', { status: 'unknown' }), device('c', { status: 'lost' }), device('d', { status: 'offline' })];
    expect(ids(rows.sort(createComparator({ key: 'status', order: 'asc' })))).toEqual(['c', 'd', 'b', 'a']);
  });
});

describe('patching a view with batched changes', () => {
  function setup(sort: DeviceSort = byId, filter = emptyFilter()) {
    const index = new DeviceIndex();
    index.reset([device('a'), device('b', { status: 'offline' }), device('c')]);
    return { index, view: buildView(index.values(), filter, sort), filter, sort };
  }

  it('replaces rows in place when membership and order hold', () => {
    const { index, view, filter, sort } = setup();
    const { changes } = index.apply([{ changed: [device('b', { status: 'offline', battery: 12 })], removed: [] }]);
    expect(patchView(view, changes, filter, sort)).toBe(false);
    expect(view.rows[1].battery).toBe(12);
  });

  it('asks for a rebuild when a row leaves the filter, but still patches it', () => {
    const filter = { ...emptyFilter(), statuses: ['online' as const] };
    const { index, view, sort } = setup(byId, filter);
    expect(ids(view.rows)).toEqual(['a', 'c']);
    const { changes } = index.apply([{ changed: [device('c', { status: 'lost' })], removed: [] }]);
    expect(patchView(view, changes, filter, sort)).toBe(true);
    expect(ids(buildView(index.values(), filter, sort).rows)).toEqual(['a']);
  });

  it('asks for a rebuild when a new device matches or a shown one is removed', () => {
    const { index, view, filter, sort } = setup();
    expect(patchView(view, index.apply([{ changed: [device('d')], removed: [] }]).changes, filter, sort)).toBe(true);
    const fresh = buildView(index.values(), filter, sort);
    expect(patchView(fresh, index.apply([{ changed: [], removed: ['a'] }]).changes, filter, sort)).toBe(true);
  });

  it('asks for a rebuild when the sort value of a row moves', () => {
    const sort: DeviceSort = { key: 'battery', order: 'asc' };
    const { index, view, filter } = setup(sort);
    expect(patchView(view, index.apply([{ changed: [device('a', { battery: 10 })], removed: [] }]).changes, filter, sort)).toBe(true);
  });

  it('ignores changes to devices outside the view', () => {
    const filter = { ...emptyFilter(), statuses: ['online' as const] };
    const { index, view, sort } = setup(byId, filter);
    const { changes } = index.apply([{ changed: [device('b', { status: 'offline', battery: 1 })], removed: [] }]);
    expect(patchView(view, changes, filter, sort)).toBe(false);
    expect(ids(view.rows)).toEqual(['a', 'c']);
  });
});

describe('device index', () => {
  it('coalesces several batches into one change per device', () => {
    const index = new DeviceIndex();
    index.reset([device('a', { battery: 1 })]);
    const { changes, facetsChanged } = index.apply([
      { changed: [device('a', { battery: 2 })], removed: [] },
      { changed: [device('a', { battery: 3 })], removed: [] },
    ]);
    expect(changes).toHaveLength(1);
    expect(changes[0].before?.battery).toBe(1);
    expect(changes[0].after?.battery).toBe(3);
    expect(facetsChanged).toBe(false);
    expect(index.get('a')?.battery).toBe(3);
  });

  it('reports facet changes for new devices, removals and retagging', () => {
    const index = new DeviceIndex();
    index.reset([device('a')]);
    expect(index.apply([{ changed: [device('a', { tags: ['x'] })], removed: [] }]).facetsChanged).toBe(true);
    expect(index.apply([{ changed: [device('b')], removed: [] }]).facetsChanged).toBe(true);
    expect(index.apply([{ changed: [], removed: ['b'] }]).facetsChanged).toBe(true);
    expect(index.apply([{ changed: [], removed: ['nope'] }]).facetsChanged).toBe(false);
    expect(index.size).toBe(1);
  });

  it('records a device added then removed in the same frame as a removal of nothing shown', () => {
    const index = new DeviceIndex();
    const { changes } = index.apply([
      { changed: [device('z')], removed: [] },
      { changed: [], removed: ['z'] },
    ]);
    expect(changes).toEqual([{ before: undefined, after: null }]);
    expect(index.size).toBe(0);
  });

  it('handles 10,000 devices: full build and a batch of 2,500 changes stay fast enough to measure', () => {
    const index = new DeviceIndex();
    index.reset(Array.from({ length: 10_000 }, (_, i) => device(`sim-${i}`, { battery: i % 100 })));
    const view = buildView(index.values(), emptyFilter(), byId);
    expect(view.rows).toHaveLength(10_000);
    const batch = Array.from({ length: 2_500 }, (_, i) => device(`sim-${i * 4}`, { battery: 1 }));
    const { changes } = index.apply([{ changed: batch, removed: [] }]);
    expect(patchView(view, changes, emptyFilter(), byId)).toBe(false);
    expect(view.rows[view.positions.get('sim-400')!].battery).toBe(1);
  });
});

describe('id ranks', () => {
  it('sort the same as string comparison and follow membership', () => {
    const index = new DeviceIndex();
    index.reset([device('sim-10', { battery: 5 }), device('sim-2', { battery: 5 }), device('sim-1', { battery: 9 })]);
    const sort: DeviceSort = { key: 'battery', order: 'asc' };
    expect(ids(buildView(index.values(), emptyFilter(), sort, index.idRanks()).rows)).toEqual(['sim-2', 'sim-10', 'sim-1']);
    expect(ids(buildView(index.values(), emptyFilter(), { key: 'id', order: 'desc' }, index.idRanks()).rows)).toEqual(['sim-10', 'sim-2', 'sim-1']);
    index.apply([{ changed: [device('sim-3', { battery: 5 })], removed: ['sim-10'] }]);
    expect(ids(buildView(index.values(), emptyFilter(), sort, index.idRanks()).rows)).toEqual(['sim-2', 'sim-3', 'sim-1']);
  });
});
