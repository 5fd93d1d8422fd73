/** Saves text as a file through the browser's download (no file system access needed). */
export function downloadText(filename: string, text: string, type = 'text/csv'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Reads a file the user picked as UTF-8 text. */
export function readFileText(file: File): Promise<string> {
  return file.text();
}
