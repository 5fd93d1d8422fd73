/**
 * `npm run bench -- rounds` on a tiny fleet (4 devices, one round, a session on two): the line has
 * every figure the benchmark promises, with values that follow from a real run.
 */
import { describe, expect, it, vi } from 'vitest';
import { run } from '../../bench/rounds';

describe('the rounds benchmark', () => {
  it('prints one JSON line with the round, byte, accuracy and personalization figures', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    try {
      await run(['--devices', '4', '--rounds', '1', '--personalize', '2', '--centralized-devices', '4', '--samples', '40']);
    } finally {
      log.mockRestore();
    }
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ bench: 'rounds', devices: 4, rounds: 1, scheme: 'bias', selected: [4], aggregated: [4], personalizedDevices: 2, centralizedSamples: 160 });
    for (const key of ['roundWallS', 'deviceComputeS', 'uploadBytesPerDevice', 'downloadBytesPerDevice', 'globalAccuracy']) expect((line[key] as number[])[0], key).toBeGreaterThan(0);
    expect(line.uploadBytesPerDevice as number[]).toEqual([expect.any(Number)]);
    expect((line.uploadBytesPerDevice as number[])[0]).toBeLessThan(line.denseBytesPerDevice as number);
    for (const key of ['baseAccuracy', 'centralizedAccuracy', 'personalizationGain']) expect(typeof line[key], key).toBe('number');
  }, 240_000);
});
