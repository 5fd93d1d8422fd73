import { readFileSync } from 'node:fs';

/**
 * What a child process uses, read from /proc (Linux): for benchmarks that measure the app or the
 * simulator from outside. NaN when the process is gone or /proc is not there.
 */

/** Resident memory of a process, in MiB. */
export function rssOfPid(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSecondsOfPid(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}
