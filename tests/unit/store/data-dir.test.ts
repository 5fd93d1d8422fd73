import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveDataDir } from '../../../src-main/core/store';

describe('resolveDataDir', () => {
  const base = { home: '/home/ann', osEnv: {} as NodeJS.ProcessEnv, env: undefined };

  it('prefers --data-dir, then TINYFLEET_DATA_DIR, then Electron userData', () => {
    expect(resolveDataDir({ ...base, flag: '/a', env: '/b', electronUserData: '/c' })).toBe('/a');
    expect(resolveDataDir({ ...base, env: '/b', electronUserData: '/c' })).toBe('/b');
    expect(resolveDataDir({ ...base, electronUserData: '/c' })).toBe('/c');
  });

  it('makes a relative flag absolute', () => {
    expect(resolveDataDir({ ...base, flag: 'rel' })).toBe(path.resolve('rel'));
  });

  it('falls back to the OS application-data folder', () => {
    expect(resolveDataDir({ ...base, platform: 'linux' })).toBe('/home/ann/.local/share/tinyfleet');
    expect(resolveDataDir({ ...base, platform: 'linux', osEnv: { XDG_DATA_HOME: '/xdg' } })).toBe('/xdg/tinyfleet');
    expect(resolveDataDir({ ...base, platform: 'linux', osEnv: { XDG_DATA_HOME: 'relative' } })).toBe('/home/ann/.local/share/tinyfleet');
    expect(resolveDataDir({ ...base, platform: 'darwin' })).toBe('/home/ann/Library/Application Support/TinyFleet');
    expect(resolveDataDir({ ...base, platform: 'win32', osEnv: { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' } })).toBe(
      'C:\\Users\\ann\\AppData\\Roaming\\TinyFleet',
    );
  });

  it('ignores blank values', () => {
    expect(resolveDataDir({ ...base, flag: ' ', env: '', platform: 'linux' })).toBe('/home/ann/.local/share/tinyfleet');
  });
});
