/** Deployments: model versions to devices in waves over the block transfer, behind the fit gate. */
export { DeployService, type DeployServiceDeps } from './deploy-service';
export { runFitGate, type GateDevice, type GatePackage, type GateVerdict } from './fit-gate';
export { planWaves, validatePolicy, type WavePolicy, type WaveTarget } from './waves';
export * from './execution';
