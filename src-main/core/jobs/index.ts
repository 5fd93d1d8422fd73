/** Long-running jobs with progress events, a catch-up read, cancel and a persistence hook. */
export * from './job';
export * from './job-runner';
