/** The model registry: versioned TFLite files, graph summaries, analyses in worker threads. */
export * from './model-registry';
export * from './analysis-runner';
export * from './analysis-pool';
export * from './model-files';
export * from './graph-summary';
