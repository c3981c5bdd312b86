// The summary every benchmark figure over repeated runs is reported by.

/** The middle value (the upper middle of an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
