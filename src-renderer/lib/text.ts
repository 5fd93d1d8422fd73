/** Splits "a, b c" into ["a", "b", "c"] (tags typed in one input), dropping empties and duplicates. */
export function splitList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((part) => part.length > 0))];
}
