import { InvalidArgumentError, type Command } from 'commander';
import type { DemoStatus } from '../../core/contract';
import { createCore } from '../../core/host/create-core';
import { createStreamLogger } from '../../core/common/logger';
import { resolveDataDir } from '../../core/store/data-dir';

interface DemoFlags {
  devices: number;
  fast?: boolean;
  dataDir?: string;
  json?: boolean;
}

const devicesArg = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 4 || n > 200) throw new InvalidArgumentError('expected a whole number from 4 to 200');
  return n;
};

/** The narration's lines for what changed between two statuses: a step starting, its progress, its result. */
function narrate(previous: DemoStatus | null, next: DemoStatus, write: (line: string) => void): void {
  next.steps.forEach((step, i) => {
    const before = previous?.steps[i];
    if (step.state === 'running' && before?.state !== 'running') write(`\n== ${i + 1}. ${step.title}\n   ${step.explains}`);
    if (step.state === 'running' && step.detail && step.detail !== before?.detail) write(`   [${Math.round(step.progress * 100)}%] ${step.detail}`);
    if (step.state !== before?.state && ['done', 'skipped', 'failed', 'canceled'].includes(step.state)) {
      if (step.state === 'skipped') write(`\n== ${i + 1}. ${step.title}\n   ${step.explains}`);
      write(`   ${step.state}: ${step.result ?? ''}`);
    }
  });
}

/** `tinyfleet demo`: runs the guided demo on an embedded broker and simulated devices, printing its narration. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Run the guided demo: a simulated fleet, a trained MNIST model, a deployment in waves (no hardware, no network)')
    .option('--devices <n>', 'simulated devices (4..200)', devicesArg, 24)
    .option('--fast', 'tiny training recipe (quick, lower accuracy)')
    .option('--data-dir <dir>', 'data directory (default: TINYFLEET_DATA_DIR or the app data dir)')
    .option('--json', 'print the final status as JSON on stdout')
    .action(async (flags: DemoFlags) => {
      const core = await createCore({
        dataDir: resolveDataDir({ flag: flags.dataDir }),
        host: 'cli',
        logger: createStreamLogger('warn'),
        simulate: 0,
        // A broker of its own on a free port, so a running app on the same data dir is not disturbed.
        broker: { mode: 'embedded', port: 0, listenAll: false },
      });
      let last: DemoStatus | null = null;
      const write = (line: string) => process.stderr.write(`${line}\n`);
      const off = core.api.subscribe('demo.progress', (s) => {
        narrate(last, s, write);
        last = s;
      });
      const onSigint = () => {
        write('\ncancelling...');
        void core.api.call('demo.cancel', {});
      };
      process.once('SIGINT', onSigint);
      try {
        await core.api.call('demo.start', { devices: flags.devices, fast: flags.fast ?? false });
        let status = await core.api.call('demo.status', {});
        while (status.state === 'running') {
          await new Promise((r) => setTimeout(r, 200));
          status = await core.api.call('demo.status', {});
        }
        narrate(last, status, write);
        write('');
        for (const f of status.figures) write(`${f.label.padEnd(64)} ${f.value}`);
        if (status.error) write(`\nerror: ${status.error}`);
        if (flags.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        if (status.state !== 'done') process.exitCode = 1;
      } finally {
        process.off('SIGINT', onSigint);
        off();
        await core.dispose();
      }
    });
}
