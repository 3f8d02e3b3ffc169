/**
 * Token buckets for rate limits: `burst` tokens at most, refilled at `perSecond`. A keyed
 * set (per IP) forgets buckets that have refilled completely, so its memory stays bounded
 * by the number of recently active keys.
 *
 * @example
 * const bucket = new TokenBucket({ perSecond: 50, burst: 100 }, Date.now);
 * if (!bucket.take()) reject('RATE_LIMITED');
 */

export interface RateLimit {
  /** Sustained rate, tokens per second. */
  perSecond: number;
  /** Bucket capacity: how many may come at once. */
  burst: number;
}

export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly limit: RateLimit;
  private readonly now: () => number;

  constructor(limit: RateLimit, now: () => number) {
    this.limit = limit;
    this.now = now;
    this.tokens = limit.burst;
    this.updatedAt = now();
  }

  /** Takes one token if there is one; false means over the limit. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** True when the bucket holds its full capacity again (nothing to remember). */
  isFull(): boolean {
    this.refill();
    return this.tokens >= this.limit.burst;
  }

  private refill(): void {
    const t = this.now();
    const elapsedSeconds = Math.max(0, t - this.updatedAt) / 1000;
    this.tokens = Math.min(this.limit.burst, this.tokens + elapsedSeconds * this.limit.perSecond);
    this.updatedAt = t;
  }
}

export class KeyedTokenBuckets {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly limit: RateLimit;
  private readonly now: () => number;

  constructor(limit: RateLimit, now: () => number) {
    this.limit = limit;
    this.now = now;
  }

  take(key: string): boolean {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.limit, this.now);
      this.buckets.set(key, bucket);
    }
    return bucket.take();
  }

  /** Drops buckets that refilled completely; call periodically. */
  prune(): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull()) this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }
}
