import type { Command } from 'commander';
import { registerBroker } from './broker';
import { registerCompile } from './compile';
import { registerDemo } from './demo';
import { registerDeploy } from './deploy';
import { registerDevices } from './devices';
import { registerPackage } from './package';
import { registerRounds } from './rounds';
import { registerRun } from './run';
import { registerServe } from './serve';
import { registerSim } from './sim';
import { registerTrain } from './train';

/** A CLI command module adds its sub-command(s) to the program. */
export type RegisterCommand = (program: Command) => void;

/** Every command of `tinyfleet`, in help order. Each module owns one command family. */
export const commands: RegisterCommand[] = [registerServe, registerCompile, registerPackage, registerRun, registerSim, registerDevices, registerDeploy, registerRounds, registerBroker, registerTrain, registerDemo];
