// Timer-based throttles: the charts redraw at most ~10 times a second however fast data or settings change.

export interface Throttled {
  /** Ask for a call; calls made before the timer fires are merged into one. */
  request(): void;
  /** Drop a pending call and stop for good. */
  dispose(): void;
}

/**
 * Calls fn on a timer at most once per intervalMs. Even the first request waits for a zero-delay timer, so
 * everything done in the same task (a whole metrics batch) ends in one call, never one per point.
 */
export function throttle(fn: () => void, intervalMs: number): Throttled {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastCallAt = -Infinity;
  let disposed = false;
  const fire = () => {
    timer = null;
    lastCallAt = Date.now();
    fn();
  };
  return {
    request() {
      if (disposed || timer !== null) return;
      timer = setTimeout(fire, Math.max(0, lastCallAt + intervalMs - Date.now()));
    },
    dispose() {
      disposed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}

/**
 * Like throttle, for an asynchronous draw (Plotly.react): draws never overlap, and a request that comes while
 * one is in flight is drawn once it has finished, from the latest state.
 */
export function drawLoop(draw: () => Promise<void>, intervalMs: number, onError: (error: unknown) => void): Throttled {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastDrawAt = -Infinity;
  let inFlight = false;
  let pending = false;
  let disposed = false;
  const schedule = () => {
    if (disposed || timer !== null || inFlight || !pending) return;
    timer = setTimeout(fire, Math.max(0, lastDrawAt + intervalMs - Date.now()));
  };
  const fire = () => {
    timer = null;
    if (disposed) return;
    pending = false;
    inFlight = true;
    lastDrawAt = Date.now();
    draw()
      .catch(onError)
      .finally(() => {
        inFlight = false;
        schedule();
      });
  };
  return {
    request() {
      pending = true;
      schedule();
    },
    dispose() {
      disposed = true;
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
