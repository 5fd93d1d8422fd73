import { describe, expect, it } from 'vitest';
import { runFitGate, type GatePackage } from '../../../src-main/core/deploy/fit-gate';
import { loadMcuProfiles } from '../../../src-main/core/engine/mcu-profiles';
import { RUNTIME_SRAM_BYTES } from '../../../src-main/core/engine/cost/footprint';

const profiles = loadMcuProfiles();
const f746 = profiles.find((p) => p.id === 'stm32f746')!;
const pkg = (arenaBytes: number, sizeBytes = 100_000): GatePackage => ({ ok: true, packageId: 'x'.repeat(64), arenaBytes, sizeBytes, plan: 'per-layer' });

describe('the fit gate', () => {
  it('passes devices that hold the arena and a slot, judging never-seen devices by their profile', () => {
    const { rows, verdicts } = runFitGate(
      [
        { id: 'seen', mcu: 'stm32f746', proto: '1.1', sramFree: 200_000, flashFree: 800_000 },
        { id: 'new', mcu: 'stm32f746', proto: null, sramFree: null, flashFree: null },
      ],
      new Map([['stm32f746', pkg(90_000)]]),
      profiles,
    );
    expect(rows).toEqual([expect.objectContaining({ mcu: 'stm32f746', devices: 2, eligible: 2, skipped: 0, arenaBytes: 90_000, sramBytes: f746.sramBytes })]);
    expect(verdicts.get('new')).toEqual({ eligible: true });
  });

  it('skips with the numbers: the class SRAM (arena + runtime), two slots of Flash, the device’s free SRAM and Flash, protocol 1.0', () => {
    const devices = [
      { id: 'tight', mcu: 'stm32f746', proto: '1.1', sramFree: 50_000, flashFree: 800_000 },
      { id: 'full', mcu: 'stm32f746', proto: '1.1', sramFree: 200_000, flashFree: 150_000 },
      { id: 'old', mcu: 'stm32f746', proto: '1.0', sramFree: 200_000, flashFree: 800_000 },
    ];
    const { rows, verdicts } = runFitGate(devices, new Map([['stm32f746', pkg(90_000)]]), profiles);
    expect(rows[0]).toMatchObject({ devices: 3, eligible: 0, skipped: 3 });
    expect(verdicts.get('tight')).toMatchObject({ reason: expect.stringContaining('reports 48.8 KiB free SRAM') });
    expect(verdicts.get('full')).toMatchObject({ reason: expect.stringContaining('half of the 146.5 KiB free Flash') });
    expect(verdicts.get('old')).toMatchObject({ reason: expect.stringContaining('protocol 1.0') });

    const tooBig = runFitGate([devices[0]], new Map([['stm32f746', pkg(f746.sramBytes - RUNTIME_SRAM_BYTES + 1)]]), profiles);
    expect(tooBig.rows[0].reasons[0]).toMatch(/^1 device: .* SRAM; the arena .* plus the runtime/);
  });

  it('skips a whole class without a package, or of an unknown profile, saying why', () => {
    const { rows } = runFitGate(
      [
        { id: 'a', mcu: 'rp2040', proto: null, sramFree: null, flashFree: null },
        { id: 'b', mcu: 'mystery', proto: null, sramFree: null, flashFree: null },
      ],
      new Map<string, GatePackage>([['rp2040', { ok: false, reason: 'the model needs 300 KiB of SRAM' }]]),
      profiles,
    );
    expect(rows.map((r) => [r.mcu, r.skipped, r.reasons[0]])).toEqual([
      ['mystery', 1, '1 device: unknown MCU profile "mystery"'],
      ['rp2040', 1, '1 device: the model needs 300 KiB of SRAM'],
    ]);
  });
});
