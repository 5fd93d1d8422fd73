import type { PersonalizationSession, PersonalizeSpec } from '../contract';

/**
 * Personalization sessions (the personalize.* calls), implemented by the transfer side
 * (rounds-transfer): a `start_round` with mode `personalize` per device, the device keeps the
 * update as an overlay only when it helps, and a kept one is registered as a personalized version.
 */
export interface PersonalizationService {
  start(spec: PersonalizeSpec, actor: string): Promise<PersonalizationSession>;
  list(): PersonalizationSession[];
  /** Throws NOT_FOUND for an unknown session. */
  get(id: string): PersonalizationSession;
  /** Cancels a running session (CONFLICT otherwise): open devices get `cancel_round` and fail CANCELED. */
  cancel(id: string, actor: string): Promise<PersonalizationSession>;
  /** Sends `reset_personalization`; the device runs the global model again and rejoins federated rounds. */
  reset(deviceId: string, actor: string): Promise<{ deviceId: string; reset: boolean; digest?: string }>;
}
