/**
 * Calls `fn` until it resolves, at most `attempts` times, waiting `delayMs`, then twice as
 * long after each failure.
 *
 * @param fn the operation; called again after each rejection
 * @param attempts how many calls at most (default 3)
 * @param delayMs the first wait in milliseconds (default 200)
 * @returns what `fn` resolved to
 * @throws the last rejection when every attempt failed
 */
export async function withRetry<T>(fn: () => Promise<T>, attempts = 3, delayMs = 200): Promise<T> {
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await fn();
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, delayMs * 2 ** i));
    }
  }
  throw lastError;
}
