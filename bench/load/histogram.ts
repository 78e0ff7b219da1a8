/**
 * Latencies in constant memory: logarithmic buckets 1% wide from 1 µs to about 20 minutes, so a
 * percentile is exact to within 1% however many samples a run takes.
 */
export class LatencyHistogram {
  private static readonly MIN_MS = 0.001;
  private static readonly GROWTH = Math.log(1.01);
  private readonly buckets = new Float64Array(2100);
  count = 0;
  max = 0;
  private sum = 0;

  record(ms: number): void {
    const b =
      ms <= LatencyHistogram.MIN_MS ? 0 : Math.log(ms / LatencyHistogram.MIN_MS) / LatencyHistogram.GROWTH;
    this.buckets[Math.min(this.buckets.length - 1, Math.ceil(b))]++;
    this.count++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  get mean(): number {
    return this.count === 0 ? Number.NaN : this.sum / this.count;
  }

  /** The latency (ms) that a fraction `q` (0.5, 0.99) of the samples do not exceed; NaN with no samples. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i];
      if (seen >= rank)
        return Math.min(this.max, LatencyHistogram.MIN_MS * Math.exp(i * LatencyHistogram.GROWTH));
    }
    return this.max;
  }
}
