import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

function electronBinaryPresent(): boolean {
  try {
    const relative = readFileSync(path.join(root, 'node_modules', 'electron', 'path.txt'), 'utf8').trim();
    return existsSync(path.join(root, 'node_modules', 'electron', 'dist', relative));
  } catch {
    return false;
  }
}

const hasElectron = electronBinaryPresent();
if (hasElectron) console.log('host-start: skipped, the Electron binary is installed so `npm start` would open a window');

function get(url: string): Promise<{ status: number; csp: string | undefined }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, csp: res.headers['content-security-policy'] as string | undefined }));
    })
      .on('error', reject)
      .end();
  });
}

describe('npm start without the Electron binary', () => {
  it.skipIf(hasElectron)('says so in one line, serves browser mode, and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tinyfleet-start-'));
    const child = spawn(process.execPath, ['scripts/start.mjs', '--no-build', '--port', '0', '--no-sim', '--broker-port', '0', '--data-dir', dataDir], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so that a hung run can be killed with the server it started.
      detached: true,
      // No download attempt: on a machine with internet access it would fetch Electron and open a window.
      env: { ...process.env, TINYFLEET_DATA_DIR: '', ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 90_000;
      while (!/running at (http:\S+)/.test(stdout) && Date.now() < deadline && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const url = stdout.match(/running at (http:\S+)/)?.[1];
      expect(url, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBeDefined();
      const lines = stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^Electron is not available on this machine .*serving TinyFleet in the browser instead\.$/);
      expect(lines.filter((l) => l.includes('Electron'))).toHaveLength(1);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
      const page = await get(url!);
      // 200 when out/renderer is built, 503 with a hint when it is not (--no-build); never an error.
      expect([200, 503]).toContain(page.status);
      expect(page.csp).toContain("default-src 'self'");
      expect(stderr).toContain(dataDir);
    } finally {
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 20_000))]);
      if (code === 'hung') process.kill(-child.pid!, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      expect(code, 'npm start must stop on SIGTERM').toBe(0);
    }
  }, 150_000);
});
