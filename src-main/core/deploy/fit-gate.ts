import type { McuProfile } from '../common/mcu-profile';
import type { FitGateRow } from '../contract/deploy';
import { RUNTIME_SRAM_BYTES } from '../engine/cost/footprint';
import type { PackageManifest } from '../engine/package/format';

/** A target device as the fit gate sees it (what its birth reported, if it was ever seen). */
export interface GateDevice {
  id: string;
  mcu: string;
  /** Protocol revision of its last birth; null for a device never seen (it is served when it comes). */
  proto: string | null;
  sramFree: number | null;
  flashFree: number | null;
}

/** The package built for one MCU class, or why there is none. */
export type GatePackage =
  | { ok: true; packageId: string; sizeBytes: number; arenaBytes: number; plan: string }
  | { ok: false; reason: string };

/** One device's verdict. */
export type GateVerdict = { eligible: true } | { eligible: false; reason: string };

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

/**
 * The plan a package's arena is sized for, in words, e.g. "patches 2x2 up to node 14 (arena 140.3
 * KiB; per layer 288.0 KiB)" or "per layer (arena 72.0 KiB)".
 */
export function describePackagePlan(memoryPlan: PackageManifest['memoryPlan']): string {
  const { patch, arenaBytes, layerPeakBytes } = memoryPlan;
  if (!patch) return `per layer (arena ${kb(arenaBytes)})`;
  return `patches ${patch.n}x${patch.n} up to node ${patch.lastStageOp} (arena ${kb(arenaBytes)}; per layer ${kb(layerPeakBytes ?? arenaBytes)})`;
}

/**
 * The deployment fit gate: before anything is sent, each target is checked against its MCU class's
 * package. The class must hold the arena plus the runtime in its SRAM; the device itself must
 * report enough free SRAM for the arena and a slot (half its free Flash, the A/B layout) for the
 * package, the same checks it will make (docs/protocol.md §12), so a device is skipped here with
 * the numbers rather than rejected after a transfer. A device never seen yet is judged by its
 * profile and served when it comes online; one that speaks protocol 1.0 cannot take a transfer.
 */
export function runFitGate(
  devices: readonly GateDevice[],
  packages: ReadonlyMap<string, GatePackage>,
  profiles: readonly McuProfile[],
): { rows: FitGateRow[]; verdicts: Map<string, GateVerdict> } {
  const verdicts = new Map<string, GateVerdict>();
  const byMcu = new Map<string, GateDevice[]>();
  for (const d of devices) byMcu.set(d.mcu, [...(byMcu.get(d.mcu) ?? []), d]);
  const rows: FitGateRow[] = [];
  for (const [mcu, group] of [...byMcu].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const profile = profiles.find((p) => p.id === mcu);
    const pkg = packages.get(mcu) ?? { ok: false as const, reason: `no package for ${mcu}` };
    const reasons = new Map<string, number>();
    const skip = (d: GateDevice, reason: string): void => {
      verdicts.set(d.id, { eligible: false, reason });
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    };
    for (const d of group) {
      if (!profile) skip(d, `unknown MCU profile "${mcu}"`);
      else if (!pkg.ok) skip(d, pkg.reason);
      else if (pkg.arenaBytes + RUNTIME_SRAM_BYTES > profile.sramBytes) {
        skip(d, `${profile.name} has ${kb(profile.sramBytes)} SRAM; the arena (${kb(pkg.arenaBytes)}) plus the runtime (${kb(RUNTIME_SRAM_BYTES)}) need ${kb(pkg.arenaBytes + RUNTIME_SRAM_BYTES)}`);
      } else if (pkg.sizeBytes > profile.flashBytes / 2) {
        skip(d, `${profile.name} has ${kb(profile.flashBytes)} Flash; two slots of the ${kb(pkg.sizeBytes)} package do not fit`);
      } else if (d.proto !== null && d.proto === '1.0') skip(d, 'the device speaks protocol 1.0 (no block transfer; update its firmware)');
      else if (d.sramFree !== null && pkg.arenaBytes > d.sramFree) skip(d, `the arena needs ${kb(pkg.arenaBytes)}; the device reports ${kb(d.sramFree)} free SRAM`);
      else if (d.flashFree !== null && pkg.sizeBytes > d.flashFree / 2) {
        skip(d, `the ${kb(pkg.sizeBytes)} package does not fit a slot (half of the ${kb(d.flashFree)} free Flash the device reports)`);
      } else verdicts.set(d.id, { eligible: true });
    }
    const skipped = [...reasons.values()].reduce((n, c) => n + c, 0);
    rows.push({
      mcu,
      devices: group.length,
      eligible: group.length - skipped,
      skipped,
      reasons: [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([reason, n]) => `${n} device${n === 1 ? '' : 's'}: ${reason}`),
      plan: pkg.ok ? pkg.plan : null,
      arenaBytes: pkg.ok ? pkg.arenaBytes : null,
      packageBytes: pkg.ok ? pkg.sizeBytes : null,
      sramBytes: profile?.sramBytes ?? 0,
      flashBytes: profile?.flashBytes ?? 0,
    });
  }
  return { rows, verdicts };
}
