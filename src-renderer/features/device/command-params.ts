/**
 * Parses the free-form JSON params of a command typed by the operator. Empty text means `{}`.
 * Throws an Error whose message says what is wrong (shown next to the input).
 */
export function parseCommandParams(text: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (trimmed === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (error) {
    throw new Error(`params are not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('params must be a JSON object, e.g. {"intervalMs": 5000}');
  }
  return value as Record<string, unknown>;
}
