import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TransferOffer } from '../protocol';

const Pending = z.object({
  /** The offer as first sent: the same transfer id is offered again after a reboot. */
  offer: TransferOffer,
  deadline: z.number(),
  kept: z.boolean().optional(),
  metrics: z.object({ samples: z.number(), loss: z.number(), accuracyBefore: z.number(), accuracyAfter: z.number(), trainMs: z.number() }),
});
/** A round's upload the app has not confirmed yet, as the device stores it. */
export type PendingUploadRecord = z.infer<typeof Pending>;

/**
 * A simulated device's trained delta kept in its flash until the app answered `received`
 * (docs/protocol.md §15): a power loss between training and confirmation loses nothing, and after
 * the reboot the device offers the same transfer again. The bytes are written before the metadata
 * (each by rename), so a cut during a save leaves either the old state or none.
 */
export class PendingUpload {
  constructor(private readonly dir: string) {}

  save(record: PendingUploadRecord, bytes: Uint8Array): void {
    mkdirSync(this.dir, { recursive: true });
    writeAtomically(this.file('upload.bin'), bytes);
    writeAtomically(this.file('upload.json'), JSON.stringify(record));
  }

  /** The stored upload, or null when there is none (or what is stored is not a whole one). */
  load(): { record: PendingUploadRecord; bytes: Uint8Array } | null {
    const meta = this.file('upload.json');
    const data = this.file('upload.bin');
    if (!existsSync(meta) || !existsSync(data)) return null;
    const parsed = Pending.safeParse(JSON.parse(readFileSync(meta, 'utf8')));
    const bytes = new Uint8Array(readFileSync(data));
    if (!parsed.success || bytes.byteLength !== parsed.data.offer.size) {
      this.clear();
      return null;
    }
    return { record: parsed.data, bytes };
  }

  clear(): void {
    rmSync(this.file('upload.json'), { force: true });
    rmSync(this.file('upload.bin'), { force: true });
  }

  private file(name: string): string {
    return path.join(this.dir, name);
  }
}

function writeAtomically(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
