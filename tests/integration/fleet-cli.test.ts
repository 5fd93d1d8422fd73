import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli';

/** `tinyfleet devices ...` on a real data directory, through the CLI's own entry point. */

let dir: string;

const cli = runCli;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tf-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A data directory of its own for each test, so that tests run alone or in any order. */
let dirs = 0;
const freshDataDir = () => path.join(dir, `data-${++dirs}`);

/** pump-1 (rp2040, tags site:a and roof), then in.csv: x-1 added, pump-1 a duplicate, x-2 an unknown MCU. */
async function seed(dataDir: string) {
  const add = await cli('devices', 'add', '--mcu', 'rp2040', '--id', 'pump-1', '--tag', 'site:a,roof', '--data-dir', dataDir);
  expect(add.code, add.stderr).toBe(0);
  const file = path.join(dir, 'in.csv');
  writeFileSync(file, 'id,name,mcu,tags\nx-1,X,stm32f746,north\npump-1,dup,rp2040,\nx-2,Y,nope,\n');
  return { add, imported: await cli('devices', 'import', file, '--data-dir', dataDir) };
}

describe('tinyfleet devices', () => {
  it('refuses to list a data directory without a database instead of creating one', async () => {
    const dataDir = freshDataDir();
    const r = await cli('devices', 'list', '--data-dir', dataDir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no TinyFleet database in .*data/);
  });

  it('adds a device and prints its secret once', async () => {
    const dataDir = freshDataDir();
    const { add: r } = await seed(dataDir);
    expect(r.stdout).toMatch(/MQTT secret: +[A-Za-z0-9_-]{43}\n/);
    const bad = await cli('devices', 'add', '--mcu', 'z80', '--data-dir', dataDir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/unknown MCU profile "z80"/);
  });

  it('takes MCU profile ids in any case', async () => {
    const dataDir = freshDataDir();
    const r = await cli('devices', 'add', '--mcu', 'RP2040', '--id', 'pump-2', '--json', '--data-dir', dataDir);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).device.mcu).toBe('rp2040');
    const listed = JSON.parse((await cli('devices', 'list', '--json', '--mcu', 'Rp2040', '--data-dir', dataDir)).stdout);
    expect(listed.devices.map((d: { id: string }) => d.id)).toEqual(['pump-2']);
  });

  it('imports CSV, prints id,secret,mcu for the added devices and exits 2 when lines were refused', async () => {
    const { imported: r } = await seed(freshDataDir());
    expect(r.code).toBe(2);
    expect(r.stdout.split('\n')[0]).toBe('id,secret,mcu');
    expect(r.stdout).toMatch(/^x-1,[A-Za-z0-9_-]{43},stm32f746$/m);
    expect(r.stderr).toContain('in.csv:3: device "pump-1" already exists');
    expect(r.stderr).toMatch(/in\.csv:4: unknown MCU profile "nope"/);
  });

  it('lists with filters, as a table or JSON', async () => {
    const dataDir = freshDataDir();
    await seed(dataDir);
    const all = JSON.parse((await cli('devices', 'list', '--json', '--data-dir', dataDir)).stdout);
    expect(all.total).toBe(2);
    const byTag = JSON.parse((await cli('devices', 'list', '--json', '--tag', 'north', '--data-dir', dataDir)).stdout);
    expect(byTag.devices.map((d: { id: string }) => d.id)).toEqual(['x-1']);
    const byMcu = await cli('devices', 'list', '--mcu', 'rp2040', '--status', 'unknown', '--data-dir', dataDir);
    expect(byMcu.stdout).toMatch(/^ID +NAME +MCU +STATUS/);
    expect(byMcu.stdout).toMatch(/pump-1 .* rp2040 +unknown/);
    expect(byMcu.stdout).not.toContain('x-1');
  });

  it('exports CSV that imports into another data directory', async () => {
    const dataDir = freshDataDir();
    await seed(dataDir);
    const out = path.join(dir, 'export.csv');
    expect((await cli('devices', 'export', '--out', out, '--data-dir', dataDir)).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^id,name,mcu,tags,/);
    const other = freshDataDir();
    const r = await cli('devices', 'import', out, '--json', '--data-dir', other);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).added.map((a: { device: { id: string; tags: string[] } }) => [a.device.id, a.device.tags])).toEqual([
      ['pump-1', ['site:a', 'roof']],
      ['x-1', ['north']],
    ]);
  });
});
