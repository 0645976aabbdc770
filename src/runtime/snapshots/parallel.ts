/**
 * A bounded worker pool for the chunk pipelines (create.ts, restore.ts): keeps a few reads and
 * writes in flight so the disk and the hashing on the main thread overlap, without ever holding
 * more than `limit` chunks in memory.
 */

/**
 * Runs `fn` over `items` with at most `limit` calls in flight. At the first failure, or when
 * `signal` aborts, no new item starts; once those in flight have settled the failure (or the
 * abort reason) is thrown, so a caller cleaning up never races a straggler.
 */
export async function forEachLimit<T>(items: Iterable<T>, limit: number, fn: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const it = items[Symbol.iterator]();
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    for (;;) {
      if (failed) return;
      if (signal?.aborted) {
        failed = { error: signal.reason };
        return;
      }
      const next = it.next();
      if (next.done) return;
      try {
        await fn(next.value);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (failed) throw failed.error;
}
