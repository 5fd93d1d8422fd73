import { parsePublicKey } from '../engine/package/keys';
import { DeviceComputePool, type DeviceComputeOptions } from './device-compute-pool';
import type { SimUpdateContext } from './sim-device';

/**
 * How simulated devices take model packages (protocol v1.1), as plain data: it crosses to the
 * simulator's worker thread.
 */
export interface SimUpdateSetup {
  /** Each device keeps its slots in `<storageDir>/<deviceId>/` (the app: `<dataDir>/sim-devices`). */
  storageDir: string;
  /** The installation's package signing key (SPKI PEM), provisioned with every device. */
  publicKeyPem: string;
  /** How often each device runs its active model for real (default once a minute). */
  inferenceIntervalMs?: number;
  compute?: DeviceComputeOptions;
}

/** The devices' update context and the compute pool behind it (whoever builds it closes it). */
export interface SimUpdates {
  context: Omit<SimUpdateContext, 'stats'>;
  compute: DeviceComputePool;
  close(): Promise<void>;
}

/** Builds what devices need to take packages: the key, their storage and the compute pool for self-tests and inference. */
export function createSimUpdates(setup: SimUpdateSetup): SimUpdates {
  const publicKey = parsePublicKey(setup.publicKeyPem);
  const compute = new DeviceComputePool(setup.publicKeyPem, setup.compute);
  return {
    context: {
      storageDir: setup.storageDir,
      publicKey,
      selfTest: (bytes, miscompute) => compute.selfTest(bytes, miscompute),
      infer: (request) => compute.infer(request),
      digest: (source) => compute.digest(source),
      checkRound: (source, scheme, freeSramBytes) => compute.checkRound(source, scheme, freeSramBytes),
      trainRound: (request) => compute.trainRound(request),
      applyDelta: (source, delta, expectedDigest) => compute.applyDelta(source, delta, expectedDigest),
      ...(setup.inferenceIntervalMs !== undefined ? { inferenceIntervalMs: setup.inferenceIntervalMs } : {}),
    },
    compute,
    close: () => compute.close(),
  };
}
