import { randomBytes } from 'node:crypto';
import { AppError } from '../common/errors';
import type { EventSink } from '../common/event-sink';
import type { Logger } from '../common/logger';
import type { Events } from '../contract';
import type { PersonalizationDevice, PersonalizationSession, PersonalizeSpec } from '../contract/rounds';
import type { McuProfile } from '../common/mcu-profile';
import type { Model } from '../engine/ir';
import { modelDigest } from '../engine/model-digest';
import { writeTflite } from '../engine/tflite/writer';
import type { CommandSender } from '../fleet/device-commands';
import type { ModelRegistry } from '../models/model-registry';
import { ROUND_RESULT_EVENT, RoundResult, type TransferOffer } from '../protocol';
import type { DevicePresenceFacts, SessionDeviceRecord, SessionRecord, Store } from '../store';
import { TrainingMemoryEstimator, type SparseScheme } from '../train';
import { applyDelta } from './apply-delta';
import { decodeDelta } from './delta-codec';
import type { DeltaUploads, UploadDecision, UploadVerdict } from './delta-transfers';
import { validateDelta } from './delta-validation';
import type { PersonalizationService } from './personalization-service';
import { DEFAULT_ROUND_LR } from './round-records';
import { classPlan } from './rounds-service';
import { SESSION_ID_PREFIX } from './upload-routing';

/** How long a session waits for its devices (training, upload and result) before failing the rest with TIMEOUT. */
export const SESSION_DEADLINE_MS = 180_000;
/** Device states after which nothing more happens to the device in its session. */
const SETTLED: ReadonlySet<SessionDeviceRecord['state']> = new Set(['refused', 'kept', 'discarded', 'failed']);

/** What the sessions need. */
export interface PersonalizationSessionsDeps {
  store: Store;
  models: ModelRegistry;
  commands: CommandSender;
  profiles: readonly McuProfile[];
  uploads?: DeltaUploads;
  events: EventSink<Events>;
  logger: Logger;
  clock?: () => number;
  tickMs?: number;
}

/**
 * Personalization sessions (docs/rounds.md §5, docs/protocol.md §15): each chosen device trains on
 * its own data with `start_round` mode `personalize`, measures held-out accuracy before and after,
 * keeps the update as its overlay only when it gained more than `minGain` (the device decides and
 * says so in `kept`), and uploads the delta either way. The app checks the upload like a round's,
 * and registers a kept one as a personalized version of the device's model, with lineage (parent,
 * session, device, before/after). Everything is in SQLite before it is sent, so a restarted app
 * goes on where it was; devices that do not answer by the session's deadline fail with TIMEOUT.
 */
export class PersonalizationSessions implements PersonalizationService {
  private readonly clock: () => number;
  private timer: ReturnType<typeof setInterval> | null = null;
  private offUploads: (() => void) | null = null;
  /** Base models and their memory estimators by `modelId@version`: a version's bytes never change, and parsing one per device and upload would dominate a large session. */
  private readonly bases = new Map<string, { model: Model; estimator: TrainingMemoryEstimator }>();

  constructor(private readonly deps: PersonalizationSessionsDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /** Takes the session uploads and starts the deadline tick (sessions stored as running go on). */
  activate(): void {
    this.offUploads = this.deps.uploads?.onUpload({ offer: (d, o) => this.offer(d, o), delivered: (d, o, b) => this.delivered(d, o, b) }) ?? null;
    this.timer ??= setInterval(() => this.tick(), this.deps.tickMs ?? 500);
    this.timer.unref?.();
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.offUploads?.();
    this.offUploads = null;
  }

  list(): PersonalizationSession[] {
    return this.deps.store.personalization.sessions().map((s) => this.view(s));
  }

  get(id: string): PersonalizationSession {
    const session = this.deps.store.personalization.session(id);
    if (!session) throw new AppError('NOT_FOUND', `no personalization session ${id}`);
    return this.view(session);
  }

  async reset(deviceId: string, actor: string): Promise<{ deviceId: string; reset: boolean; digest?: string }> {
    if (!this.deps.store.devices.get(deviceId)) throw new AppError('NOT_FOUND', `no device ${deviceId}`);
    const answer = await this.deps.commands.send({ deviceId, command: 'reset_personalization', params: {}, timeoutMs: 15_000 }, actor);
    if (answer.state !== 'ok') throw new AppError(answer.state === 'timeout' ? 'TIMEOUT' : 'BAD_REQUEST', `${deviceId} did not reset: ${answer.error?.code ?? answer.state}: ${answer.error?.message ?? ''}`.trim());
    const result = (answer.result ?? {}) as { reset?: boolean; digest?: string };
    return { deviceId, reset: result.reset === true, ...(typeof result.digest === 'string' ? { digest: result.digest } : {}) };
  }

  async cancel(id: string, actor: string): Promise<PersonalizationSession> {
    const session = this.deps.store.personalization.session(id);
    if (!session) throw new AppError('NOT_FOUND', `no personalization session ${id}`);
    if (session.state !== 'running') throw new AppError('CONFLICT', `session ${id} is ${session.state}: only a running session can be canceled`);
    const now = this.clock();
    for (const d of this.deps.store.personalization.devices(id)) {
      if (SETTLED.has(d.state)) continue;
      this.update(session, d, { state: 'failed', code: 'CANCELED', message: 'the session was canceled', delta: null });
      void this.deps.commands.send({ deviceId: d.deviceId, command: 'cancel_round', params: { job: id, round: 0 }, timeoutMs: 10_000 }, actor).catch(() => undefined);
    }
    Object.assign(session, { state: 'canceled', updatedAt: now, finishedAt: now });
    this.deps.store.transaction(() => {
      this.deps.store.personalization.updateSession(session);
      this.deps.store.audit.append({ ts: now, actor, action: 'personalize.cancel', target: id, details: {} });
    });
    this.changed(session);
    return this.view(session);
  }

  /** A device's `round_result` of a session: kept (a personalized version is registered), discarded or failed. */
  onDeviceEvent(deviceId: string, kind: string, data: unknown): void {
    if (kind !== ROUND_RESULT_EVENT) return;
    const parsed = RoundResult.safeParse(data);
    if (!parsed.success || !parsed.data.job.startsWith(SESSION_ID_PREFIX)) return;
    const result = parsed.data;
    const session = this.deps.store.personalization.session(result.job);
    const d = session && this.device(session.id, deviceId);
    if (!session || !d || SETTLED.has(d.state)) return;
    if (!result.ok) return this.update(session, d, { state: 'failed', code: result.code, message: result.message });
    if (!d.delta) return this.update(session, d, { state: 'failed', code: 'NO_UPLOAD', message: 'the device reported a result without an accepted upload' });
    if (result.kept !== true) return this.update(session, d, { state: 'discarded', kept: 0, digest: d.baseDigest, delta: null });
    void this.register(session, d).catch((err: Error) => this.update(session, d, { state: 'failed', code: 'REGISTRY_ERROR', message: err.message }));
  }

  /** Starts a session: its devices are stored (refused ones with their reason) before any command goes out. */
  async start(spec: PersonalizeSpec, actor: string): Promise<PersonalizationSession> {
    const now = this.clock();
    const id = `${SESSION_ID_PREFIX}${now.toString(36)}-${randomBytes(3).toString('hex')}`;
    const ids = this.chooseDevices(spec);
    if (ids.length === 0) throw new AppError('BAD_REQUEST', 'no device matches: give device ids or tags of registered devices');
    const session: SessionRecord = { id, spec, state: 'running', deadline: now + SESSION_DEADLINE_MS, createdAt: now, updatedAt: now, finishedAt: null };
    const presence = this.deps.store.devices.presence(ids);
    const devices = ids.map((deviceId) => this.plan(id, deviceId, presence.get(deviceId)!, now));
    this.deps.store.personalization.insert(session, devices);
    this.changed(session);
    void this.sendStarts(session, devices, actor);
    this.deps.logger.info(`personalization: ${id} started on ${devices.length} devices by ${actor}`);
    return this.view(session);
  }

  /** The session's devices: the ids given (each must exist) and every device with one of the tags. */
  private chooseDevices(spec: PersonalizeSpec): string[] {
    const { devices } = this.deps.store;
    for (const deviceId of spec.deviceIds) if (!devices.get(deviceId)) throw new AppError('NOT_FOUND', `no device ${deviceId}`);
    const tagged = spec.tags.length ? devices.list({ tags: spec.tags, sort: 'id', order: 'asc', offset: 0, limit: Number.MAX_SAFE_INTEGER }).devices.map((d) => d.id) : [];
    return [...new Set([...spec.deviceIds, ...tagged])];
  }

  /** One device's row: what it runs, the update its free SRAM allows, or why it is refused before any command. */
  private plan(sessionId: string, deviceId: string, facts: DevicePresenceFacts, now: number): SessionDeviceRecord {
    const row: SessionDeviceRecord = {
      sessionId,
      deviceId,
      mcu: facts.mcu,
      modelId: null,
      baseVersion: null,
      baseDigest: null,
      scheme: null,
      state: 'selected',
      code: null,
      message: null,
      tid: null,
      delta: null,
      accuracyBefore: null,
      accuracyAfter: null,
      kept: null,
      digest: null,
      version: null,
      updatedAt: now,
    };
    const refuse = (code: string, message: string) => Object.assign(row, { state: 'refused' as const, code, message });
    if (facts.status !== 'online') return refuse('DEVICE_OFFLINE', `${deviceId} is ${facts.status}`);
    const digest = facts.personalized?.digest ?? facts.slots.find((s) => s.active)?.digest;
    if (!digest) return refuse('VERSION_MISMATCH', `${deviceId} reports no model digest (no active model, or firmware before protocol 1.2)`);
    const version = this.deps.models.versionByDigest(digest);
    if (!version) return refuse('VERSION_MISMATCH', `${deviceId} runs a model (digest ${digest.slice(0, 12)}…) that is not in the registry`);
    const { model, estimator } = this.base(version.modelId, version.version);
    const profile = this.deps.profiles.find((p) => p.id === facts.mcu);
    const plan = classPlan(facts.mcu, 1, 'auto', model, estimator, facts.sramFree ?? profile?.sramBytes ?? 0);
    Object.assign(row, { modelId: version.modelId, baseVersion: version.version, baseDigest: digest });
    if (!plan.update) return refuse(plan.code ?? 'INSUFFICIENT_MEMORY', plan.message ?? 'no update fits the free SRAM');
    row.scheme = JSON.stringify({ name: plan.scheme, update: plan.update });
    return row;
  }

  private async sendStarts(session: SessionRecord, devices: SessionDeviceRecord[], actor: string): Promise<void> {
    const { local, minGain } = session.spec;
    await Promise.all(
      devices
        .filter((d) => d.state === 'selected')
        .map(async (d) => {
          const params = {
            job: session.id,
            round: 0,
            mode: 'personalize',
            minGain,
            baseSha256: d.baseDigest,
            scheme: (JSON.parse(d.scheme!) as { update: unknown }).update,
            local: { epochs: local.epochs, samples: local.samples, lr: local.lr ?? DEFAULT_ROUND_LR, qas: local.qas },
            seed: randomBytes(4).readUInt32LE(0),
            deadline: session.deadline,
          };
          try {
            const answer = await this.deps.commands.send({ deviceId: d.deviceId, command: 'start_round', params, timeoutMs: 15_000 }, actor);
            const current = this.device(session.id, d.deviceId)!;
            if (current.state !== 'selected') return;
            if (answer.state === 'ok') this.update(session, current, { state: 'training' });
            else this.update(session, current, { state: 'refused', code: answer.error?.code ?? answer.state.toUpperCase(), message: answer.error?.message ?? `start_round ${answer.state}` });
          } catch (err) {
            const e = err as { code?: string; message: string };
            this.update(session, this.device(session.id, d.deviceId)!, { state: 'refused', code: e.code ?? 'SEND_FAILED', message: e.message });
          }
        }),
    );
  }

  // --- uploads ---------------------------------------------------------------------------------------

  private offer(deviceId: string, offer: TransferOffer): UploadDecision {
    const job = offer.round?.job ?? '';
    const session = this.deps.store.personalization.session(job);
    const d = session && this.device(job, deviceId);
    if (!session || session.state !== 'running' || !d || offer.round?.round !== 0) return { accept: false, code: 'UNKNOWN_ROUND', message: `no running personalization session ${job} for device ${deviceId}` };
    if (d.state === 'uploaded' || SETTLED.has(d.state)) return { accept: false, code: 'DUPLICATE', message: `device ${deviceId} already uploaded in session ${job}` };
    if (d.tid !== offer.tid) this.update(session, d, { tid: offer.tid });
    return { accept: true };
  }

  private delivered(deviceId: string, offer: TransferOffer, bytes: Uint8Array): UploadVerdict {
    const job = offer.round?.job ?? '';
    const session = this.deps.store.personalization.session(job);
    const d = session && this.device(job, deviceId);
    if (!session || !d) return { ok: false, code: 'UNKNOWN_ROUND', message: 'the session is no longer running' };
    if (d.state === 'uploaded' || d.state === 'kept' || d.state === 'discarded') return { ok: true };
    if (SETTLED.has(d.state)) return { ok: false, code: 'DUPLICATE', message: `device ${deviceId} is ${d.state} in this session` };
    const decoded = decodeDelta(bytes);
    const check = decoded.ok
      ? validateDelta(decoded.value, this.base(d.modelId!, d.baseVersion!).model, {
          baseSha256: d.baseDigest!,
          round: { job, round: 0 },
          scheme: (JSON.parse(d.scheme!) as { update: SparseScheme }).update,
        })
      : { ok: false as const, error: decoded.error };
    if (!check.ok) {
      this.update(session, d, { state: 'failed', code: 'REJECTED', message: `${check.error.code}: ${check.error.message}` });
      return { ok: false, code: check.error.code, message: `${check.error.code}: ${check.error.message}` };
    }
    const metrics = decoded.ok ? decoded.value.metrics : null;
    this.update(session, d, { state: 'uploaded', delta: bytes, accuracyBefore: metrics?.accuracyBefore ?? null, accuracyAfter: metrics?.accuracyAfter ?? null });
    return { ok: true };
  }

  /** The kept update as a personalized version of the device's model (found again after a restart). */
  private async register(session: SessionRecord, d: SessionDeviceRecord): Promise<void> {
    const modelId = d.modelId!;
    const existing = this.deps.models.versionByLineage(modelId, session.id, undefined, d.deviceId);
    let version = existing?.version;
    let digest = existing?.digest;
    if (!version || !digest) {
      const decoded = decodeDelta(d.delta!);
      if (!decoded.ok) throw new Error(`the stored upload does not decode: ${decoded.error.message}`);
      const patched = applyDelta(this.base(modelId, d.baseVersion!).model, decoded.value);
      const name = this.deps.models.get(modelId).model.name;
      const imported = await this.deps.models.import({
        name,
        fileName: `${name}-${session.id}-${d.deviceId}.tflite`,
        bytesBase64: Buffer.from(writeTflite(patched)).toString('base64'),
        lineage: {
          parentVersion: d.baseVersion!,
          kind: 'personalized',
          job: session.id,
          deviceId: d.deviceId,
          participants: 1,
          schemes: [{ mcu: d.mcu, scheme: (JSON.parse(d.scheme!) as { name: string }).name }],
          metrics: { ...(d.accuracyBefore !== null ? { accuracyBefore: d.accuracyBefore } : {}), ...(d.accuracyAfter !== null ? { accuracyAfter: d.accuracyAfter } : {}) },
        },
      });
      version = imported.version.version;
      digest = imported.version.digest ?? modelDigest(patched);
    }
    this.update(session, this.device(session.id, d.deviceId)!, { state: 'kept', kept: 1, version, digest, delta: null });
  }

  // --- bookkeeping -----------------------------------------------------------------------------------

  /** Fails the devices still open at the deadline and ends sessions whose devices all settled. */
  private tick(): void {
    const now = this.clock();
    for (const session of this.deps.store.personalization.sessionsInState('running')) {
      const devices = this.deps.store.personalization.devices(session.id);
      // An upload whose result is still on its way gets a grace of one tick beyond the deadline.
      if (now > session.deadline) for (const d of devices) if (!SETTLED.has(d.state) && (d.state !== 'uploaded' || now > session.deadline + 5_000)) this.update(session, d, { state: 'failed', code: 'TIMEOUT', message: 'no result before the session deadline' });
      if (devices.every((d) => SETTLED.has(d.state))) {
        Object.assign(session, { state: 'done', updatedAt: now, finishedAt: now });
        this.deps.store.personalization.updateSession(session);
        this.changed(session);
      }
    }
  }

  private device(sessionId: string, deviceId: string): SessionDeviceRecord | undefined {
    return this.deps.store.personalization.device(sessionId, deviceId);
  }

  private base(modelId: string, version: number): { model: Model; estimator: TrainingMemoryEstimator } {
    const key = `${modelId}@${version}`;
    let base = this.bases.get(key);
    if (!base) {
      const { model } = this.deps.models.versionModel(modelId, version);
      this.bases.set(key, (base = { model, estimator: new TrainingMemoryEstimator(model) }));
    }
    return base;
  }

  private update(session: SessionRecord, d: SessionDeviceRecord, patch: Partial<SessionDeviceRecord>): void {
    const now = this.clock();
    Object.assign(d, patch, { updatedAt: now });
    this.deps.store.transaction(() => {
      this.deps.store.personalization.updateDevice(d);
      session.updatedAt = now;
      this.deps.store.personalization.updateSession(session);
    });
    this.changed(session);
  }

  private changed(session: SessionRecord): void {
    this.deps.events.emit('personalize.changed', this.view(session));
  }

  private view(session: SessionRecord): PersonalizationSession {
    return {
      id: session.id,
      state: session.state,
      local: session.spec.local,
      minGain: session.spec.minGain,
      devices: this.deps.store.personalization.devices(session.id).map(
        (d): PersonalizationDevice => ({
          deviceId: d.deviceId,
          mcu: d.mcu,
          state: d.state,
          ...(d.code ? { code: d.code } : {}),
          ...(d.message ? { message: d.message } : {}),
          ...(d.accuracyBefore !== null ? { before: d.accuracyBefore } : {}),
          ...(d.accuracyAfter !== null ? { after: d.accuracyAfter } : {}),
          ...(d.kept !== null ? { kept: d.kept === 1 } : {}),
          ...(d.digest ? { digest: d.digest } : {}),
          ...(d.version !== null ? { version: d.version } : {}),
        }),
      ),
      createdAt: session.createdAt,
      updatedAt: session.updatedAt,
      finishedAt: session.finishedAt,
    };
  }
}
