// Shared timing for the benchmarks: medians over interleaved repetitions after a warm-up.

/** Per case: stop after MAX_REPS or once the budget is spent, but not before MIN_REPS. */
const MIN_REPS = 3;
const MAX_REPS = 15;
const BUDGET_MS = 12_000;

/**
 * Median milliseconds of each run function. Repetitions alternate between them so that both see the
 * same background load; one warm-up run each first compiles pipelines and fills buffer pools.
 */
export async function timeInterleaved(runs: (() => Promise<void>)[]): Promise<number[]> {
  for (const run of runs) await run();
  const times = runs.map(() => [] as number[]);
  const start = performance.now();
  for (let rep = 0; rep < MAX_REPS && (rep < MIN_REPS || performance.now() - start < BUDGET_MS); rep++) {
    for (let i = 0; i < runs.length; i++) {
      const t0 = performance.now();
      await runs[i]();
      times[i].push(performance.now() - t0);
    }
  }
  return times.map((t) => t.sort((x, y) => x - y)[Math.floor(t.length / 2)]);
}
