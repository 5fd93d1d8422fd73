/** Bytes per base64 piece: a multiple of 3, so the pieces concatenate into one valid base64 string. */
const CHUNK = 3 * 8192;
/** Let the page paint between slices of this many bytes. */
const YIELD_EVERY = CHUNK * 64;

/**
 * The contents of a picked or dropped file as base64, encoded in slices with a yield between them so
 * an 8 MiB model never blocks the page for long.
 */
export async function readFileAsBase64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK) {
    parts.push(btoa(String.fromCharCode(...bytes.subarray(i, i + CHUNK))));
    if ((i + CHUNK) % YIELD_EVERY === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return parts.join('');
}

/** Why a file cannot be imported before sending it, or null. */
export function importProblem(file: { name: string; size: number }, maxBytes: number): string | null {
  if (!/\.tflite$/i.test(file.name)) return `${file.name}: only .tflite files can be imported`;
  if (file.size === 0) return `${file.name}: the file is empty`;
  if (file.size > maxBytes) return `${file.name}: ${(file.size / 1048576).toFixed(1)} MiB is larger than the ${maxBytes / 1048576} MiB a model may have`;
  return null;
}
