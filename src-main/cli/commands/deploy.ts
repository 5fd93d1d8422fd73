import { InvalidArgumentError, type Command } from 'commander';
import type { Deployment, DeploymentSpec, FitGateRow, TinyFleetApi } from '../../core/contract';
import { collect, kib, parseDuration, parseMcuId, parsePositiveInt, parseShare, progressBar } from '../options';
import { remoteOptions, resolveModel, withRemote, type RemoteFlags } from '../remote-command';

interface CreateFlags extends RemoteFlags {
  model: string;
  version?: number;
  name?: string;
  all?: boolean;
  device: string[];
  tag: string[];
  mcu: string[];
  canary: string;
  steps?: number[];
  soak?: number;
  manual?: boolean;
  successRate?: number;
  maxFailures?: number;
  minExecuted?: number;
  abortOn: string[];
  concurrency?: number;
  rate?: number;
  blockSize?: number;
  dryRun?: boolean;
  wait?: boolean;
}

const FINAL = new Set(['succeeded', 'failed', 'aborted', 'canceled']);

/** `512KiB`, `4MiB`, `1MB`, or bytes. */
function bytesPerSecond(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB)?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a byte rate such as 512KiB, 4MiB or a number of bytes');
  const unit = { b: 1, kb: 1000, kib: 1024, mb: 1_000_000, mib: 1024 * 1024 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Math.round(Number(m[1]) * unit);
}

function steps(value: string): number[] {
  const list = value.split(',').map((s) => Number(s.trim().replace(/%$/, '')));
  if (list.some((n) => !Number.isFinite(n) || n <= 0 || n > 100)) throw new InvalidArgumentError('expected cumulative percentages such as 25,50,100');
  return list;
}

function canaryOf(value: string): DeploymentSpec['waves']['canary'] {
  if (value.endsWith('%')) {
    const percent = Number(value.slice(0, -1));
    if (!(percent > 0 && percent <= 100)) throw new Error(`--canary ${value}: a percentage must be in (0, 100]`);
    return { percent };
  }
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--canary ${value}: expected a device count (e.g. 2) or a share (e.g. 5%)`);
  return { count };
}

function countsLine(d: Deployment): string {
  return Object.entries(d.counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${state} ${n}`)
    .join(', ');
}

function printFitGate(rows: FitGateRow[]): void {
  process.stdout.write('Fit gate:\n');
  for (const r of rows) {
    process.stdout.write(
      `  ${r.mcu.padEnd(14)} ${String(r.eligible).padStart(5)} of ${String(r.devices).padEnd(5)} eligible` +
        (r.arenaBytes !== null ? `   arena ${kib(r.arenaBytes)} of ${kib(r.sramBytes)} SRAM, package ${kib(r.packageBytes ?? 0)}` : '') +
        '\n',
    );
    for (const reason of r.reasons) process.stdout.write(`      skipped ${reason}\n`);
  }
}

function printDeployment(d: Deployment): void {
  const total = d.waves.reduce((n, w) => n + w.size, 0);
  const settled = d.counts.succeeded + d.counts.failed + d.counts.timed_out + d.counts.rejected + d.counts.canceled;
  process.stdout.write(`${d.id}  ${d.name}  (${d.modelId} v${d.version})\n`);
  process.stdout.write(`  state: ${d.state}${d.stateReason ? ` — ${d.stateReason}` : ''}\n`);
  process.stdout.write(`  wave ${d.currentWave + 1} of ${d.waves.length}   ${progressBar(settled, total)} ${settled}/${total}   ${countsLine(d)}\n`);
  process.stdout.write(`  bytes sent ${kib(d.bytesSent)} of ${kib(d.bytesNeeded)} needed${d.throughputBps > 0 ? `, ${kib(d.throughputBps)}/s` : ''}${d.etaMs !== null ? `, ETA ${Math.ceil(d.etaMs / 1000)} s` : ''}\n`);
}

/** Follows a deployment until it finishes, printing a line per change; resolves to its final state. */
async function follow(api: TinyFleetApi, id: string, json: boolean): Promise<Deployment> {
  let last = '';
  for (;;) {
    const d = await api.call('deploy.get', { id });
    const line = json ? JSON.stringify({ id: d.id, state: d.state, wave: d.currentWave, counts: d.counts, bytesSent: d.bytesSent, etaMs: d.etaMs }) : `${d.state.padEnd(18)} wave ${d.currentWave + 1}/${d.waves.length}  ${countsLine(d)}`;
    if (line !== last) process.stdout.write(`${line}\n`);
    last = line;
    if (FINAL.has(d.state) && d.finishedAt !== null) return d;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * `tinyfleet deploy`: deployments through the running app (it holds the broker connection and
 * the rollout state), over the contract the UI uses.
 */
export function registerDeploy(program: Command): void {
  const deploy = program.command('deploy').description('Deploy model versions to devices in waves (talks to the running TinyFleet)');

  remoteOptions(
    deploy
      .command('create')
      .description('Deploy a model version: fit gate per MCU, a canary wave, then percentage steps')
      .requiredOption('--model <id|name>', 'model to deploy')
      .option('--version <n>', 'model version (default: the latest)', parsePositiveInt('a version'))
      .option('--name <text>', 'deployment name')
      .option('--all', 'target every device')
      .option('--device <ids>', 'target these devices (repeatable, comma-separated)', collect, [])
      .option('--tag <tags>', 'target devices with any of these tags', collect, [])
      .option('--mcu <ids>', 'target devices of these MCU profiles', (v: string, prev: string[]) => [...prev, ...v.split(',').map(parseMcuId)], [])
      .option('--canary <n|p%>', 'canary wave: a device count or a share', '1')
      .option('--steps <list>', 'cumulative percentages after the canary (e.g. 25,50,100)', steps)
      .option('--soak <duration>', 'wait this long after each wave (e.g. 10m)', parseDuration)
      .option('--manual', 'wait for `deploy promote` after each wave')
      .option('--success-rate <share>', 'a wave promotes itself at this success share (default 0.9)', parseShare)
      .option('--max-failures <share>', 'abort at this failure share (default 25%)', parseShare)
      .option('--min-executed <n>', '... once this many devices have a verdict (default 4)', parsePositiveInt('a count'))
      .option('--abort-on <codes>', 'abort at the first device failing with one of these codes (e.g. SELF_TEST_FAILED)', collect, [])
      .option('--concurrency <n>', 'transfers at once (default 50)', parsePositiveInt('a count'))
      .option('--rate <bytes/s>', 'byte rate for the whole deployment (default 4MiB)', bytesPerSecond)
      .option('--block-size <bytes>', 'transfer block size (default 4096)', parsePositiveInt('a size'))
      .option('--dry-run', 'only run the fit gate: how many devices per MCU would take it, and why not')
      .option('--wait', 'follow the deployment until it finishes (exit 1 unless it succeeded)'),
  ).action((flags: CreateFlags) =>
    withRemote(flags, async (api) => {
      const { modelId, version } = await resolveModel(api, flags.model, flags.version);
      const spec = {
        modelId,
        version,
        ...(flags.name ? { name: flags.name } : {}),
        targets: { all: flags.all ?? false, deviceIds: flags.device, tags: flags.tag, mcus: flags.mcu },
        waves: {
          canary: canaryOf(flags.canary),
          ...(flags.steps ? { steps: flags.steps } : {}),
          ...(flags.soak !== undefined ? { soakMs: flags.soak } : {}),
          autoPromote: !flags.manual,
          ...(flags.successRate !== undefined ? { successRate: flags.successRate } : {}),
        },
        abort: {
          ...(flags.maxFailures !== undefined ? { failureRate: Math.max(flags.maxFailures, 0.0001) } : {}),
          ...(flags.minExecuted !== undefined ? { minExecuted: flags.minExecuted } : {}),
          abortOn: flags.abortOn,
        },
        limits: {
          ...(flags.concurrency !== undefined ? { maxConcurrent: flags.concurrency } : {}),
          ...(flags.rate !== undefined ? { bytesPerSecond: flags.rate } : {}),
          ...(flags.blockSize !== undefined ? { blockSize: flags.blockSize } : {}),
        },
        dryRun: flags.dryRun ?? false,
      };
      const { deployment, fitGate } = await api.call('deploy.create', spec);
      if (flags.json && !flags.wait) {
        process.stdout.write(`${JSON.stringify({ deployment, fitGate })}\n`);
        return;
      }
      if (!flags.json) printFitGate(fitGate);
      if (!deployment) return;
      if (!flags.json) printDeployment(deployment);
      if (!flags.wait) return;
      const final = await follow(api, deployment.id, flags.json ?? false);
      if (flags.json) process.stdout.write(`${JSON.stringify({ deployment: final })}\n`);
      else printDeployment(final);
      if (final.state !== 'succeeded') process.exitCode = 1;
    }),
  );

  remoteOptions(deploy.command('list').description('Deployments, newest first')).action((flags: RemoteFlags) =>
    withRemote(flags, async (api) => {
      const { deployments } = await api.call('deploy.list', {});
      if (flags.json) return void process.stdout.write(`${JSON.stringify(deployments)}\n`);
      if (deployments.length === 0) return void process.stdout.write('No deployments yet.\n');
      for (const d of deployments) process.stdout.write(`${d.id}  ${d.state.padEnd(18)} ${d.name}  ${countsLine(d)}\n`);
    }),
  );

  remoteOptions(deploy.command('show <id>').description('One deployment: state, waves, bytes, and its devices with --devices').option('--devices', 'list the per-device executions')).action(
    (id: string, flags: RemoteFlags & { devices?: boolean }) =>
      withRemote(flags, async (api) => {
        const d = await api.call('deploy.get', { id });
        const devices = flags.devices ? (await api.call('deploy.devices', { id, limit: 5000 })).devices : undefined;
        if (flags.json) return void process.stdout.write(`${JSON.stringify({ deployment: d, devices })}\n`);
        printDeployment(d);
        d.waves.forEach((w) => process.stdout.write(`  wave ${w.index + 1}: ${w.size} devices${w.settledAt ? ', settled' : w.startedAt ? ', running' : ''}\n`));
        for (const e of devices ?? []) {
          process.stdout.write(`  ${e.deviceId.padEnd(20)} ${e.state.padEnd(13)} ${progressBar(e.blocksHeld, e.blockCount, 12)} attempts ${e.attempts}${e.errorCode ? `  ${e.errorCode}: ${e.errorMessage ?? ''}` : ''}\n`);
        }
      }),
  );

  const actions = [
    ['pause', 'deploy.pause', 'Pause: no new transfers start; running ones finish'],
    ['resume', 'deploy.resume', 'Resume a paused deployment'],
    ['promote', 'deploy.promote', 'Start the next wave now'],
    ['abort', 'deploy.abort', 'Stop: cancel running transfers and queued devices'],
    ['cancel', 'deploy.cancel', 'Cancel queued devices; running transfers finish'],
    ['rollback', 'deploy.rollback', 'Return the devices it updated to their previous model'],
  ] as const;
  for (const [name, call, description] of actions) {
    remoteOptions(deploy.command(`${name} <id>`).description(description)).action((id: string, flags: RemoteFlags) =>
      withRemote(flags, async (api) => {
        const d = await api.call(call, { id });
        if (flags.json) process.stdout.write(`${JSON.stringify(d)}\n`);
        else printDeployment(d);
      }),
    );
  }
}
