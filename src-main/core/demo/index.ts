export { DEMO_MCUS, DEMO_MODEL_NAME, DemoRunner, type DemoRunnerDeps } from './demo-runner';
