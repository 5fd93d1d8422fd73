import type { Command } from 'commander';
import type { CohortPlan, FederatedJob, FederatedJobSummary, PersonalizationSession, RoundSummary, TinyFleetApi } from '../../core/contract';
import { SchemeName } from '../../core/contract';
import { collect, kib, parseDuration, parseMcuId, parsePositiveInt, parseShare, pct, progressBar } from '../options';
import { remoteOptions, resolveModel, withRemote, type RemoteFlags } from '../remote-command';

interface StartFlags extends RemoteFlags {
  model: string;
  version?: number;
  name?: string;
  fraction?: number;
  minDevices?: number;
  tag: string[];
  mcu: string[];
  includeOffline?: boolean;
  minBattery?: number;
  scheme: string;
  epochs?: number;
  samples?: number;
  lr?: number;
  qas: boolean;
  rounds?: number;
  deadline?: number;
  minCompletion?: number;
  async?: boolean;
  buffer?: number;
  maxStaleness?: number;
  targetAccuracy?: number;
  patience?: number;
  dryRun?: boolean;
  wait?: boolean;
}

/** Job states after which nothing changes; `done` and `stopped` (a stop rule met) are successes. */
const FINAL = new Set<FederatedJobSummary['state']>(['done', 'stopped', 'failed', 'canceled']);
const SUCCEEDED = new Set<FederatedJobSummary['state']>(['done', 'stopped']);

function learningRate(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n <= 10)) throw new Error(`--lr ${value}: expected a learning rate in (0, 10]`);
  return n;
}

function schemeOf(value: string): string {
  if (value !== 'auto' && value !== 'searched' && !SchemeName.safeParse(value).success) throw new Error(`--scheme ${value}: expected auto, searched or one of ${SchemeName.options.join(', ')}`);
  return value;
}

const acc = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : pct(v));

function countsLine(r: RoundSummary): string {
  return Object.entries(r.counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${state} ${n}`)
    .join(', ');
}

function printPlan(plan: CohortPlan): void {
  const excluded = Object.entries(plan.excluded).filter(([, n]) => n > 0);
  process.stdout.write(`Cohort: ${plan.matching} matching, ${plan.eligible} eligible, ${plan.perRound} per round${excluded.length ? `; left out ${excluded.map(([r, n]) => `${n} ${r}`).join(', ')}` : ''}\n`);
  process.stdout.write(`Dense update: ${kib(plan.denseBytesPerDevice)} per device\n`);
  for (const c of plan.classes) {
    process.stdout.write(
      `  ${c.mcu.padEnd(14)} ${String(c.devices).padStart(5)} devices  ${(c.scheme ?? 'searched').padEnd(10)} training ${kib(c.trainingBytes)} + arena ${kib(c.arenaBytes)} = ${kib(c.requiredBytes)} of ${kib(c.freeSramBytes)} free  ${c.fits ? 'fits' : `${c.code ?? 'does not fit'}${c.message ? `: ${c.message}` : ''}`}\n`,
    );
  }
}

function roundLine(r: RoundSummary): string {
  const uploaders = r.counts.uploaded + r.counts.aggregated;
  const up = uploaders > 0 ? `${kib(r.bytesUp / uploaders)} up/device (dense ${kib(r.denseBytesPerDevice)})` : '';
  return `round ${String(r.round + 1).padStart(3)}  ${r.state.padEnd(11)} global ${acc(r.globalAccuracy).padStart(6)}  devices ${acc(r.deviceAccuracy.median)} [${acc(r.deviceAccuracy.min)}..${acc(r.deviceAccuracy.max)}]  ${up}  ${countsLine(r)}${r.aggregatedUploads !== undefined ? `  took ${r.aggregatedUploads} upload(s), staleness ${(r.meanStaleness ?? 0).toFixed(2)}` : ''}${r.version ? `  -> v${r.version}` : ''}${r.stateReason ? `  (${r.stateReason})` : ''}`;
}

function printJob(job: FederatedJob): void {
  process.stdout.write(`${job.id}  ${job.name}  (${job.modelId} v${job.version}, ${job.mode})\n`);
  process.stdout.write(`  state: ${job.state}${job.stateReason ? ` — ${job.stateReason}` : ''}\n`);
  const done = job.rounds.filter((r) => r.state === 'done').length;
  process.stdout.write(`  rounds ${progressBar(done, job.spec.rounds)} ${done}/${job.spec.rounds}   base ${acc(job.baseAccuracy)} -> global ${acc(job.globalAccuracy)}${job.latestVersion ? `   newest v${job.latestVersion}` : ''}\n`);
  for (const c of job.classes) process.stdout.write(`  ${c.mcu.padEnd(14)} ${c.scheme ?? 'searched'}: ${c.description}\n`);
  for (const r of [...job.rounds].sort((a, b) => a.round - b.round)) process.stdout.write(`  ${roundLine(r)}\n`);
}

/** Follows a job until it ends, printing a line per change; resolves to the final job. */
async function follow(api: TinyFleetApi, id: string, json: boolean): Promise<FederatedJob> {
  let last = '';
  for (;;) {
    const job = await api.call('rounds.get', { id });
    const current = [...job.rounds].sort((a, b) => a.round - b.round).at(-1);
    const line = json
      ? JSON.stringify({ id: job.id, state: job.state, round: current?.round ?? null, roundState: current?.state ?? null, counts: current?.counts ?? null, globalAccuracy: current?.globalAccuracy ?? null, ...(job.calibration ? { calibration: job.calibration } : {}) })
      : job.state === 'calibrating'
        ? `calibrating schemes ${job.calibration ? `${progressBar(job.calibration.done, job.calibration.total)} ${job.calibration.done}/${job.calibration.total} trial runs` : ''}`
        : `${job.state.padEnd(9)} ${current ? roundLine(current) : 'selecting the first round'}`;
    if (line !== last) process.stdout.write(`${line}\n`);
    last = line;
    if (FINAL.has(job.state)) return job;
    await new Promise((r) => setTimeout(r, 500));
  }
}

function printSession(s: PersonalizationSession): void {
  process.stdout.write(`${s.id}  ${s.state}  ${s.devices.length} device(s), keep above +${(s.minGain * 100).toFixed(1)} pp\n`);
  for (const d of s.devices) {
    const gain = d.before !== undefined && d.after !== undefined ? `${d.after >= d.before ? '+' : ''}${((d.after - d.before) * 100).toFixed(1)} pp` : '';
    process.stdout.write(
      `  ${d.deviceId.padEnd(20)} ${d.state.padEnd(10)} ${acc(d.before).padStart(6)} -> ${acc(d.after).padEnd(6)} ${gain.padEnd(9)} ${d.kept === true ? `kept${d.version ? ` as v${d.version}` : ''}` : d.kept === false ? 'rolled back' : ''}${d.code ? `  ${d.code}: ${d.message ?? ''}` : ''}\n`,
    );
  }
}

/** Follows a session until it ends; resolves to the final session. */
async function followSession(api: TinyFleetApi, id: string, json: boolean): Promise<PersonalizationSession> {
  let last = '';
  for (;;) {
    const s = await api.call('personalize.get', { id });
    const byState = new Map<string, number>();
    for (const d of s.devices) byState.set(d.state, (byState.get(d.state) ?? 0) + 1);
    const counts = Object.fromEntries(byState);
    const line = json ? JSON.stringify({ id: s.id, state: s.state, counts }) : `${s.state.padEnd(9)} ${[...byState].map(([k, n]) => `${k} ${n}`).join(', ')}`;
    if (line !== last) process.stdout.write(`${line}\n`);
    last = line;
    if (s.state !== 'running') return s;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * `tinyfleet rounds` and `tinyfleet personalize`: fleet learning through the running app (it holds
 * the broker connection and the round engine), over the contract the UI uses.
 */
export function registerRounds(program: Command): void {
  const rounds = program.command('rounds').description('Federated training rounds across the fleet (talks to the running TinyFleet)');

  remoteOptions(
    rounds
      .command('start')
      .description('Start a federated job on a model version the devices run: per MCU class the scheme its memory allows, rounds of local sparse updates averaged into new versions')
      .requiredOption('--model <id|name>', 'base model')
      .option('--version <n>', 'base model version (default: the latest)', parsePositiveInt('a version'))
      .option('--name <text>', 'job name')
      .option('--fraction <share>', 'share of the eligible devices selected per round (default 1)', parseShare)
      .option('--min-devices <n>', 'a round needs at least this many eligible devices (default 2)', parsePositiveInt('a count'))
      .option('--tag <tags>', 'only devices with any of these tags', collect, [])
      .option('--mcu <ids>', 'only devices of these MCU profiles', (v: string, prev: string[]) => [...prev, ...v.split(',').map(parseMcuId)], [])
      .option('--include-offline', 'also select devices that are offline now')
      .option('--min-battery <share>', 'skip devices below this battery level (default 0.2)', parseShare)
      .option('--scheme <name>', `auto (per MCU class the best standard scheme that fits), searched (per MCU class the scheme search's best, calibrated when the job starts) or one of ${SchemeName.options.join(', ')}`, schemeOf, 'auto')
      .option('--epochs <n>', 'local epochs (default 1)', parsePositiveInt('a count'))
      .option('--samples <n>', 'local samples per device (default 200)', parsePositiveInt('a count'))
      .option('--lr <rate>', 'learning rate (default: the training library\'s)', learningRate)
      .option('--no-qas', 'train without quantization-aware scaling')
      .option('--rounds <n>', 'rounds (default 5)', parsePositiveInt('a count'))
      .option('--deadline <duration>', 'round deadline (default 2m)', parseDuration)
      .option('--min-completion <share>', 'share of the selected devices a synchronous round needs (default 0.8)', parseShare)
      .option('--async', 'buffered asynchronous aggregation (FedBuff-style) instead of synchronous rounds')
      .option('--buffer <n>', 'async: uploads per aggregation (default 10)', parsePositiveInt('a count'))
      .option('--max-staleness <n>', 'async: refuse uploads more than this many versions old (default 4)', (v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 64) throw new Error(`--max-staleness ${v}: expected a whole number 0..64`);
        return n;
      })
      .option('--target-accuracy <share>', 'stop once a round reaches this global accuracy', parseShare)
      .option('--patience <n>', 'stop after this many rounds without improvement', parsePositiveInt('a count'))
      .option('--dry-run', 'only plan: the cohort, and per MCU class the scheme with its training memory and whether it fits')
      .option('--wait', 'follow the job until it ends (exit 1 unless it is done or stopped by its stop rule)'),
  ).action((flags: StartFlags) =>
    withRemote(flags, async (api) => {
      const { modelId, version } = await resolveModel(api, flags.model, flags.version);
      const spec = {
        modelId,
        version,
        ...(flags.name ? { name: flags.name } : {}),
        cohort: {
          ...(flags.fraction !== undefined ? { fraction: Math.max(flags.fraction, 0.0001) } : {}),
          ...(flags.minDevices !== undefined ? { minDevices: flags.minDevices } : {}),
          tags: flags.tag,
          mcus: flags.mcu,
          onlineOnly: !flags.includeOffline,
          ...(flags.minBattery !== undefined ? { minBattery: flags.minBattery } : {}),
        },
        scheme: flags.scheme as 'auto' | 'searched' | SchemeName,
        local: {
          ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}),
          ...(flags.samples !== undefined ? { samples: flags.samples } : {}),
          ...(flags.lr !== undefined ? { lr: flags.lr } : {}),
          qas: flags.qas,
        },
        ...(flags.rounds !== undefined ? { rounds: flags.rounds } : {}),
        ...(flags.deadline !== undefined ? { roundDeadlineMs: flags.deadline } : {}),
        ...(flags.minCompletion !== undefined ? { minCompletion: flags.minCompletion } : {}),
        mode: flags.async ? ('async' as const) : ('sync' as const),
        async: { ...(flags.buffer !== undefined ? { buffer: flags.buffer } : {}), ...(flags.maxStaleness !== undefined ? { maxStaleness: flags.maxStaleness } : {}) },
        stop: { ...(flags.targetAccuracy !== undefined ? { targetAccuracy: flags.targetAccuracy } : {}), ...(flags.patience !== undefined ? { patience: flags.patience } : {}) },
        dryRun: flags.dryRun ?? false,
      };
      const { job, plan } = await api.call('rounds.create', spec);
      if (flags.json && !flags.wait) return void process.stdout.write(`${JSON.stringify({ job, plan })}\n`);
      if (!flags.json) printPlan(plan);
      if (!job) return;
      if (!flags.json) printJob(job);
      if (!flags.wait) return;
      const final = await follow(api, job.id, flags.json ?? false);
      if (flags.json) process.stdout.write(`${JSON.stringify({ job: final })}\n`);
      else printJob(final);
      if (!SUCCEEDED.has(final.state)) process.exitCode = 1;
    }),
  );

  remoteOptions(rounds.command('list').description('Federated jobs, newest first')).action((flags: RemoteFlags) =>
    withRemote(flags, async (api) => {
      const jobs = await api.call('rounds.list', {});
      if (flags.json) return void process.stdout.write(`${JSON.stringify(jobs)}\n`);
      if (jobs.length === 0) return void process.stdout.write('No federated jobs yet.\n');
      for (const j of jobs) {
        process.stdout.write(`${j.id}  ${j.state.padEnd(9)} ${j.name}  round ${Math.min(j.currentRound + 1, j.rounds)}/${j.rounds}  base ${acc(j.baseAccuracy)} -> ${acc(j.globalAccuracy)}${j.latestVersion ? `  v${j.latestVersion}` : ''}\n`);
      }
    }),
  );

  remoteOptions(
    rounds
      .command('show <id>')
      .description('One job: its scheme per MCU class and every round (accuracy, devices, bytes); --round N lists that round\'s devices')
      .option('--round <n>', 'list the devices of this round (1-based)', parsePositiveInt('a round')),
  ).action((id: string, flags: RemoteFlags & { round?: number }) =>
    withRemote(flags, async (api) => {
      const job = await api.call('rounds.get', { id });
      const participants = flags.round !== undefined ? await api.call('rounds.participants', { id, round: flags.round - 1 }) : undefined;
      if (flags.json) return void process.stdout.write(`${JSON.stringify({ job, participants })}\n`);
      printJob(job);
      for (const p of participants ?? []) {
        process.stdout.write(
          `  ${p.deviceId.padEnd(20)} ${p.mcu.padEnd(12)} ${p.state.padEnd(10)} ${acc(p.accuracyBefore)} -> ${acc(p.accuracyAfter)}${p.uploadBytes !== undefined ? `  ${kib(p.uploadBytes)}` : ''}${p.code ? `  ${p.code}: ${p.message ?? ''}` : ''}\n`,
        );
      }
    }),
  );

  remoteOptions(rounds.command('cancel <id>').description('Cancel a job: its running round is canceled on the devices; versions already made stay')).action((id: string, flags: RemoteFlags) =>
    withRemote(flags, async (api) => {
      const job = await api.call('rounds.cancel', { id });
      if (flags.json) process.stdout.write(`${JSON.stringify(job)}\n`);
      else printJob(job);
    }),
  );

  const personalize = program.command('personalize').description('Personalization sessions: devices train on their own data and keep the update only when it helps (talks to the running TinyFleet)');
  remoteOptions(
    personalize
      .command('start')
      .description('Start a session on devices (by id or tag); a device that keeps its update leaves federated rounds until reset')
      .option('--device <ids>', 'these devices (repeatable, comma-separated)', collect, [])
      .option('--tag <tags>', 'devices with any of these tags', collect, [])
      .option('--epochs <n>', 'local epochs (default 1)', parsePositiveInt('a count'))
      .option('--samples <n>', 'local samples (default 200)', parsePositiveInt('a count'))
      .option('--min-gain <share>', 'keep the update when held-out accuracy rises by more than this (default 0)', parseShare)
      .option('--wait', 'follow the session until it ends (exit 1 if it was canceled or a device failed)'),
  ).action((flags: RemoteFlags & { device: string[]; tag: string[]; epochs?: number; samples?: number; minGain?: number; wait?: boolean }) =>
    withRemote(flags, async (api) => {
      if (flags.device.length === 0 && flags.tag.length === 0) throw new Error('choose devices: --device <ids> or --tag <tags>');
      const session = await api.call('personalize.start', {
        deviceIds: flags.device,
        tags: flags.tag,
        local: { ...(flags.epochs !== undefined ? { epochs: flags.epochs } : {}), ...(flags.samples !== undefined ? { samples: flags.samples } : {}) },
        ...(flags.minGain !== undefined ? { minGain: flags.minGain } : {}),
      });
      if (flags.json && !flags.wait) return void process.stdout.write(`${JSON.stringify(session)}\n`);
      if (!flags.json) printSession(session);
      if (!flags.wait) return;
      const final = await followSession(api, session.id, flags.json ?? false);
      if (flags.json) process.stdout.write(`${JSON.stringify(final)}\n`);
      else printSession(final);
      if (final.state !== 'done' || final.devices.some((d) => d.state === 'failed')) process.exitCode = 1;
    }),
  );

  remoteOptions(personalize.command('list').description('Personalization sessions, newest first')).action((flags: RemoteFlags) =>
    withRemote(flags, async (api) => {
      const sessions = await api.call('personalize.list', {});
      if (flags.json) return void process.stdout.write(`${JSON.stringify(sessions)}\n`);
      if (sessions.length === 0) return void process.stdout.write('No personalization sessions yet.\n');
      for (const s of sessions) {
        const kept = s.devices.filter((d) => d.kept === true).length;
        process.stdout.write(`${s.id}  ${s.state.padEnd(9)} ${s.devices.length} device(s), ${kept} kept\n`);
      }
    }),
  );

  remoteOptions(personalize.command('show <id>').description('One session: before/after per device, kept or rolled back')).action((id: string, flags: RemoteFlags) =>
    withRemote(flags, async (api) => {
      const s = await api.call('personalize.get', { id });
      if (flags.json) process.stdout.write(`${JSON.stringify(s)}\n`);
      else printSession(s);
    }),
  );

  remoteOptions(personalize.command('cancel <id>').description('Cancel a running session: devices still training stop and keep nothing')).action((id: string, flags: RemoteFlags) =>
    withRemote(flags, async (api) => {
      const s = await api.call('personalize.cancel', { id });
      if (flags.json) process.stdout.write(`${JSON.stringify(s)}\n`);
      else printSession(s);
    }),
  );

  remoteOptions(personalize.command('reset <deviceId>').description('Reset a device to the global model: it drops its personal update and rejoins federated rounds')).action((deviceId: string, flags: RemoteFlags) =>
    withRemote(flags, async (api) => {
      const r = await api.call('personalize.reset', { deviceId });
      if (flags.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else process.stdout.write(`${r.deviceId}: ${r.reset ? 'runs the global model again' : 'had no personal update'}${r.digest ? ` (digest ${r.digest.slice(0, 12)}…)` : ''}\n`);
    }),
  );
}
