/** What each benchmark file exports. */
export interface BenchResult {
  /** Human-readable tables. */
  text: string;
  /** Figures for the final JSON line. */
  data: Record<string, unknown>;
}

export interface Benchmark {
  name: string;
  description: string;
  run(progress: (line: string) => void): Promise<BenchResult>;
}
