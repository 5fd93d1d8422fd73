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
  real: number;
  estimate: number | null;
}

/** The sizes table: sections, then Flash and SRAM beside the engine's estimates. */
export function sizeRows(sizes: BuildSizes, estimate: BuildResult['estimate']): SizeRow[] {
  return [
    { label: '.text', real: sizes.text, estimate: null },
    { label: '.rodata', real: sizes.rodata, estimate: null },
    { label: '.data', real: sizes.data, estimate: null },
    { label: '.bss', real: sizes.bss, estimate: null },
    { label: 'Flash', real: sizes.flash, estimate: estimate.flashBytes },
    { label: 'SRAM', real: sizes.sram, estimate: estimate.sramBytes },
  ];
}
