/** Deployments: model versions to devices in waves over the block transfer, behind the fit gate. */
export { DeployService, type DeployServiceDeps } from './deploy-service';
export { runFitGate, type GateDevice, type GatePackage, type GateVerdict } from './fit-gate';
export { planWaves, validatePolicy, type WavePolicy, type WaveTarget } from './waves';
export * from './execution';
export { TransferHub, type TransferSource, type UploadChannel } from './transfer-hub';
export { UploadReceiver, type UploadAcceptance, type UploadOwner, type UploadReceiverDeps, type UploadStats, type UploadVerdict } from './upload-receiver';
export { DeltaSender, type DeltaContext, type DeltaOutcome, type DeltaSenderDeps, type DeltaTransferOffer } from './delta-sender';
