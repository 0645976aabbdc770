/**
 * IMDSv2 session tokens. A token is an opaque random string bound to the instance that asked for
 * it and to an expiry; it is kept only in memory (as on EC2, where tokens do not survive the
 * instance's stop), so a kumo restart invalidates every token and clients simply fetch a new one
 * after their 401. The clock is injected so that expiry is testable without waiting.
 */
import { randomBytes } from 'node:crypto';

export const MAX_TOKEN_TTL_SECONDS = 21_600;
/** Live tokens kept at most; past it the oldest go first (a client minting tokens in a loop must not grow kumo without bound). */
const MAX_SESSIONS = 100_000;

interface Session {
  instanceId: string;
  expiresAt: number;
}

export class TokenStore {
  private readonly sessions = new Map<string, Session>();
  private lastSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  issue(instanceId: string, ttlSeconds: number): string {
    this.sweep();
    // Shaped like AWS's tokens (base64, 56 characters); nothing may read meaning into it.
    const token = randomBytes(42).toString('base64');
    this.sessions.set(token, { instanceId, expiresAt: this.now() + ttlSeconds * 1000 });
    // Maps iterate in insertion order: the first key is the oldest token.
    if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    return token;
  }

  /** Seconds left when the token is valid for this instance, else undefined. */
  check(token: string, instanceId: string): number | undefined {
    const s = this.sessions.get(token);
    if (!s || s.instanceId !== instanceId) return undefined;
    const left = s.expiresAt - this.now();
    if (left <= 0) {
      this.sessions.delete(token);
      return undefined;
    }
    return Math.ceil(left / 1000);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Expired tokens are dropped at most once a minute rather than on every request. */
  private sweep(): void {
    const t = this.now();
    if (t - this.lastSweep < 60_000) return;
    this.lastSweep = t;
    for (const [k, s] of this.sessions) if (s.expiresAt <= t) this.sessions.delete(k);
  }
}
