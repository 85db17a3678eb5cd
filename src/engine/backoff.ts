/** Exponential backoff with equal jitter for upstream retries: a delay drawn from [base/2, base], base 0.5 s, 1 s, 2 s … capped at `capMs`. */
export function retryDelayMs(attempt: number, capMs = 30_000, random = Math.random): number {
  const base = Math.min(capMs, 500 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}
