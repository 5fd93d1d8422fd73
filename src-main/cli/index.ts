import { Command, CommanderError } from 'commander';
import { AppError } from '../core/contract';
import { commands } from './commands';

/**
 * Builds the `tinyfleet` program. Every command lives in its own module under ./commands and
 * talks to the same core the desktop app uses.
 */
export function createProgram(): Command {
  const program = new Command('tinyfleet')
    .description('TinyFleet: manage MCU fleets over MQTT, compile int8 models, coordinate on-device training')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Runs the CLI and resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    await createProgram().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    // The CLI stays precise: a call's technical details follow its message.
    const details = err instanceof AppError && err.details ? ` (${err.details})` : '';
    process.stderr.write(`tinyfleet: ${err instanceof Error ? err.message : String(err)}${details}\n`);
    return 1;
  }
}
