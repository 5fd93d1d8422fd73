/** MACs as "300.6 M", "1.2 G", "54.1 k". */
export function formatMacs(macs: number): string {
  if (macs >= 1e9) return `${(macs / 1e9).toFixed(2)} G`;
  if (macs >= 1e6) return `${(macs / 1e6).toFixed(1)} M`;
  if (macs >= 1e3) return `${(macs / 1e3).toFixed(1)} k`;
  return String(macs);
}

/** A headroom ratio as a signed percentage: "+38.2 %", "−120.5 %". */
export function formatHeadroom(ratio: number): string {
  const pct = (ratio * 100).toFixed(1);
  return ratio >= 0 ? `+${pct} %` : `−${pct.slice(1)} %`;
}

/** A tensor shape as "1×96×96×1". */
export function formatShape(shape: readonly number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join('×');
}

/** Bytes with a sign, for headroom: "+120 KB", "−1.5 MB". */
export function formatSignedBytes(bytes: number, formatBytes: (b: number) => string): string {
  return `${bytes < 0 ? '−' : '+'}${formatBytes(Math.abs(bytes))}`;
}
