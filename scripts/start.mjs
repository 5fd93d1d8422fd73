#!/usr/bin/env node
// `npm start`: build, then open the desktop app when the Electron binary is here (fetching it once
// if it is not); where it cannot be had, say so in one line and serve browser mode instead.
//
//   npm start [-- --no-build] [-- --data-dir DIR --port N --sim N --no-sim --broker-port N]
//
// Electron loads native modules built for its own ABI, which differs from Node's: better-sqlite3
// is prepared for Electron in .cache/electron-native/ (prebuilt download, else a source build) and
// handed to the app through TINYFLEET_SQLITE_BINDING, so node_modules keeps the Node build the
// CLI and the tests use.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const electronDir = path.join(root, 'node_modules', 'electron');
/** How long the one attempt to fetch the Electron binary may take. */
const FETCH_TIMEOUT_MS = 60_000;

const args = process.argv.slice(2);
const skipBuild = args.includes('--no-build');
const forwarded = args.filter((a) => a !== '--no-build');

function run(command, commandArgs, options = {}) {
  return spawnSync(command, commandArgs, { cwd: root, stdio: 'inherit', ...options });
}

/** The Electron executable, or null when the package has no binary. */
function electronBinary() {
  try {
    const relative = readFileSync(path.join(electronDir, 'path.txt'), 'utf8').trim();
    const file = path.join(electronDir, 'dist', relative);
    return relative && existsSync(file) ? file : null;
  } catch {
    return null;
  }
}

/** One quiet attempt to download the binary with electron's own installer (ELECTRON_SKIP_BINARY_DOWNLOAD=1 skips it). */
function fetchElectronOnce() {
  const installer = path.join(electronDir, 'install.js');
  if (!existsSync(installer)) return;
  run(process.execPath, [installer], { stdio: 'ignore', timeout: FETCH_TIMEOUT_MS });
}

/**
 * A better-sqlite3 binary for this Electron version, kept outside node_modules. Returns its path, or
 * throws with the reason when neither a prebuilt download nor a source build worked.
 */
function sqliteForElectron(electronVersion) {
  const tag = `${electronVersion}-${process.platform}-${process.arch}`;
  const target = path.join(root, '.cache', 'electron-native', tag, 'better_sqlite3.node');
  if (existsSync(target)) return target;
  const work = path.join(root, '.cache', 'electron-native', `build-${tag}`, 'better-sqlite3');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const source = path.join(root, 'node_modules', 'better-sqlite3');
  for (const entry of ['package.json', 'binding.gyp', 'src', 'deps', 'lib']) {
    cpSync(path.join(source, entry), path.join(work, entry), { recursive: true });
  }
  const quiet = { cwd: work, stdio: 'ignore', timeout: 600_000 };
  const prebuilt = path.join(root, 'node_modules', 'prebuild-install', 'bin.js');
  const fetched =
    existsSync(prebuilt) &&
    run(process.execPath, [prebuilt, '--runtime', 'electron', '--target', electronVersion, '--arch', process.arch, '--platform', process.platform], quiet)
      .status === 0;
  if (!fetched) {
    // npm exposes its bundled node-gyp to scripts; headers come from Electron's server.
    const gyp = process.env.npm_config_node_gyp;
    if (!gyp) throw new Error('no prebuilt better-sqlite3 for this Electron and no node-gyp to build one (run through `npm start`)');
    const built = run(
      process.execPath,
      [gyp, 'rebuild', '--release', `--target=${electronVersion}`, '--runtime=electron', '--dist-url=https://electronjs.org/headers'],
      quiet,
    );
    if (built.status !== 0) throw new Error('building better-sqlite3 for Electron failed');
  }
  mkdirSync(path.dirname(target), { recursive: true });
  copyFileSync(path.join(work, 'build', 'Release', 'better_sqlite3.node'), target);
  rmSync(path.dirname(work), { recursive: true, force: true });
  return target;
}

/** Runs a child until it exits, passing Ctrl+C and SIGTERM on to it; exits with its code. */
function supervise(child) {
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function serveInBrowser() {
  supervise(spawn(process.execPath, [path.join(root, 'bin', 'tinyfleet.mjs'), 'serve', '--no-build', ...forwarded], { cwd: root, stdio: 'inherit' }));
}

if (!skipBuild) {
  const bin = path.join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  const built = run(process.execPath, [bin, 'build']);
  if (built.status !== 0) {
    console.error('npm start: the build failed (see above).');
    process.exit(built.status ?? 1);
  }
}

let electron = electronBinary();
if (!electron) {
  fetchElectronOnce();
  electron = electronBinary();
}

if (!electron) {
  console.log('Electron is not available on this machine (its binary is missing and could not be downloaded); serving TinyFleet in the browser instead.');
  serveInBrowser();
} else {
  const version = JSON.parse(readFileSync(path.join(electronDir, 'package.json'), 'utf8')).version;
  let binding;
  try {
    binding = sqliteForElectron(version);
  } catch (error) {
    console.log(`Electron is here, but SQLite could not be prepared for it (${error.message}); serving TinyFleet in the browser instead.`);
    serveInBrowser();
  }
  if (binding) {
    supervise(spawn(electron, ['.', ...forwarded], { cwd: root, stdio: 'inherit', env: { ...process.env, TINYFLEET_SQLITE_BINDING: binding } }));
  }
}
