import type { BuildResult, BuildSizes } from '@contract';

/** A file of a build as the page offers it: an `<a download>` target. */
export interface BuildDownload {
  name: string;
  url: string;
  bytes: number;
}

function base64Bytes(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Blob URLs of the bundle zip and the package (revoke them with `revokeDownloads`). */
export function buildDownloads(result: BuildResult): { bundle: BuildDownload; pkg: BuildDownload } {
  const file = (name: string, base64: string, type: string): BuildDownload => {
    const bytes = base64Bytes(base64);
    return { name, url: URL.createObjectURL(new Blob([bytes], { type })), bytes: bytes.byteLength };
  };
  return {
    bundle: file(result.bundleName, result.bundleZipBase64, 'application/zip'),
    pkg: file(result.packageName, result.packageBase64, 'application/octet-stream'),
  };
}

export function revokeDownloads(downloads: { bundle: BuildDownload; pkg: BuildDownload } | null): void {
  if (!downloads) return;
  URL.revokeObjectURL(downloads.bundle.url);
  URL.revokeObjectURL(downloads.pkg.url);
}

/** One row of the sizes table: a section or total, the linker's figure, and the engine's estimate where it has one. */
export interface SizeRow {
  label: string;
  /** What the figures of the row count. */
  counts: string;
  real: number;
  estimate: number | null;
}

/**
 * The sizes table: sections as arm-none-eabi-size reports them, then Flash and SRAM beside the
 * engine's estimates (the same figures as the fit matrix for the plan that was built).
 */
export function sizeRows(sizes: BuildSizes, estimate: BuildResult['estimate']): SizeRow[] {
  return [
    { label: '.text', counts: 'code (with .ARM.exidx)', real: sizes.text, estimate: null },
    { label: '.rodata', counts: 'weights, biases, requantization constants', real: sizes.rodata, estimate: null },
    { label: '.data', counts: 'initialized globals', real: sizes.data, estimate: null },
    { label: '.bss', counts: 'arena and other zeroed globals', real: sizes.bss, estimate: null },
    { label: 'Flash', counts: 'real: .text + .rodata + .data; estimate: weights + code', real: sizes.flash, estimate: estimate.flashBytes },
    { label: 'SRAM', counts: 'real: .data + .bss (static, no stack); estimate: arena + scratch + runtime stack', real: sizes.sram, estimate: estimate.sramBytes },
  ];
}
