import type { CohortPlan, FederatedJob, FederatedJobSpec, FederatedJobSummary, Participant } from '../../contract';
import type { PersonalizationService } from '../../rounds/personalization-service';
import type { Handlers } from '../handler';

/** What the rounds.* handlers call (the RoundsService). */
export interface FederatedJobs {
  create(spec: FederatedJobSpec, actor: string): Promise<{ job: FederatedJob | null; plan: CohortPlan }>;
  list(): FederatedJobSummary[];
  get(id: string): FederatedJob;
  participants(id: string, round: number): Participant[];
  cancel(id: string, actor: string): Promise<FederatedJob>;
}

/** Federated jobs and personalization sessions. */
export function createRoundsHandlers(deps: { rounds: FederatedJobs; personalize: PersonalizationService }): Handlers<
  'rounds.create' | 'rounds.list' | 'rounds.get' | 'rounds.participants' | 'rounds.cancel' | 'personalize.start' | 'personalize.list' | 'personalize.get' | 'personalize.cancel' | 'personalize.reset'
> {
  const { rounds, personalize } = deps;
  return {
    'rounds.create': (input, ctx) => rounds.create(input, ctx.actor),
    'rounds.list': () => rounds.list(),
    'rounds.get': (input) => rounds.get(input.id),
    'rounds.participants': (input) => rounds.participants(input.id, input.round),
    'rounds.cancel': (input, ctx) => rounds.cancel(input.id, ctx.actor),
    'personalize.start': (input, ctx) => personalize.start(input, ctx.actor),
    'personalize.list': () => personalize.list(),
    'personalize.get': (input) => personalize.get(input.id),
    'personalize.cancel': (input, ctx) => personalize.cancel(input.id, ctx.actor),
    'personalize.reset': (input, ctx) => personalize.reset(input.deviceId, ctx.actor),
  };
}
