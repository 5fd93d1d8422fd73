/** The contents of a picked or dropped file as base64, read by the browser off the main thread. */
export function readFileAsBase64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'));
    reader.onload = () => {
      const url = String(reader.result);
      const comma = url.indexOf(',');
      resolve(comma === -1 ? '' : url.slice(comma + 1));
    };
    reader.readAsDataURL(file);
  });
}

/** Why a file cannot be imported before sending it, or null. */
export function importProblem(file: { name: string; size: number }, maxBytes: number): string | null {
  if (!/\.tflite$/i.test(file.name)) return `${file.name}: only .tflite files can be imported`;
  if (file.size === 0) return `${file.name}: the file is empty`;
  if (file.size > maxBytes) return `${file.name}: ${(file.size / 1048576).toFixed(1)} MiB is larger than the ${maxBytes / 1048576} MiB a model may have`;
  return null;
}
