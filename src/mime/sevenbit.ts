/**
 * Placeholder replaced by the 7-bit conversion (see git history): returns the message unchanged.
 */
export function toSevenBit(raw: Buffer): Buffer {
  return raw;
}
