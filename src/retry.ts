import { setTimeout as sleep } from 'node:timers/promises';
import { DriftwatchError } from './errors.ts';

export interface RetryOptions {
  /** Attempts in all, the first included. */
  attempts?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Called before each wait, so the caller can log one clear line per failure. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  signal?: AbortSignal;
}

/** Programming errors never get better by waiting; a DriftwatchError says for itself. */
function isRetriable(error: unknown): boolean {
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) return false;
  if (error instanceof DriftwatchError) return error.retriable;
  return true;
}

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * workers that failed together do not retry together.
 */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 8;
  const initial = options.initialDelayMs ?? 100;
  const max = options.maxDelayMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt >= attempts || !isRetriable(error) || options.signal?.aborted) throw error;
      const delay = Math.random() * Math.min(max, initial * 2 ** (attempt - 1));
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, undefined, options.signal ? { signal: options.signal } : undefined);
    }
  }
}
