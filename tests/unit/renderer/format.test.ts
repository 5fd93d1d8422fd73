import { describe, expect, it } from 'vitest';
import { formatAgo, formatBytes, formatCount, formatDuration, formatValue } from '../../../src-renderer/lib/format';

describe('formatting', () => {
  it('says how long ago', () => {
    const now = 1_000_000_000;
    expect(formatAgo(null, now)).toBe('never');
    expect(formatAgo(now - 4_200, now)).toBe('4 s ago');
    expect(formatAgo(now - 125_000, now)).toBe('2 min ago');
    expect(formatAgo(now - 3 * 3600_000, now)).toBe('3 h ago');
    expect(formatAgo(now + 5_000, now)).toBe('0 s ago');
  });

  it('formats bytes, values and counts', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(320 * 1024)).toBe('320 KB');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(2 * 1024 * 1024)).toBe('2.0 MB');
    expect(formatValue(null, 1, '°C')).toBe('—');
    expect(formatValue(23.456, 1, '°C')).toBe('23.5 °C');
    expect(formatCount(10000)).toBe('10,000');
  });

  it('formats durations', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(44_600)).toBe('45 s');
    expect(formatDuration(725_000)).toBe('12 min 5 s');
    expect(formatDuration(3 * 3600_000 + 20 * 60_000)).toBe('3 h 20 min');
  });
});
