import { readFileSync } from 'node:fs';

/**
 * This process's soft limit on open file descriptors (Linux: /proc/self/limits), or null where it
 * cannot be read. Every MQTT connection is one descriptor, on each end.
 */
export function openFilesLimit(): number | null {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!line) return null;
    return line[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(line[1]);
  } catch {
    return null;
  }
}
