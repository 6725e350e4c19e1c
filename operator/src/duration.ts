/**
 * Durations on the command line (`openpds operator --resync-interval`, `openpds up --prune-after`):
 * "30s", "1.5s", "500ms", "2m", "1h", or bare seconds ("0", "30"). One parser, so every flag reads them
 * the same way.
 */
const UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;

/** Milliseconds, or undefined when `text` is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNITS_MS[(match[2] ?? 's') as keyof typeof UNITS_MS];
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}
