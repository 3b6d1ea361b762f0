/**
 * A JSON value read from an untrusted file, quoted in a message: at most `max` characters, whatever its size,
 * and never a stack overflow (JSON.stringify recurses: a value nested 100,000 deep, which JSON.parse reads,
 * would throw a RangeError that reads as a bug in rnn).
 */
export function jsonExcerpt(v: unknown, max = 80): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = Array.isArray(v) ? 'a deeply nested array' : typeof v === 'object' && v !== null ? 'a deeply nested object' : String(v);
  }
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
