// React glue for plotly: the figure is drawn into a div through a ref, never through React's render.

import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import type { MetricSeries } from './metric-series.ts';
import { loadPlotly, PLOT_CONFIG, type PlotlyApi } from './plotly-loader.ts';
import type { PlotFigure } from './plotly-text.ts';
import { drawLoop, throttle, type Throttled } from './throttle.ts';

/** Plotly redraws at most this often (≤ 10 Hz), however fast data or settings change. */
export const REDRAW_INTERVAL_MS = 100;
/** Text summaries and open data tables follow at most this often: a live region must not chatter. */
export const SUMMARY_INTERVAL_MS = 2000;

/** The plot div's size when a figure is built, px. */
export interface PlotSize {
  widthPx: number;
  heightPx: number;
}

export interface PlotHandle {
  ref: RefObject<HTMLDivElement | null>;
  /** Redraw soon from the latest build (throttled). */
  request: () => void;
  /** Plotly has loaded (enables "Save PNG"). */
  ready: boolean;
  /** Why plotly could not be loaded, if it could not. */
  error: string | null;
}

/**
 * Draws build()'s figure into ref's div with Plotly.react: whenever `build` changes (memoise it with
 * useCallback on its inputs) and on every request(), at most every REDRAW_INTERVAL_MS; purges the plot
 * on unmount.
 */
export function usePlot(build: (size: PlotSize) => PlotFigure | null): PlotHandle {
  const ref = useRef<HTMLDivElement>(null);
  const buildRef = useRef(build);
  const loopRef = useRef<Throttled | null>(null);
  const [ready, setReady] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const div = ref.current;
    if (div === null) return;
    let plotly: PlotlyApi | null = null;
    let disposed = false;
    const loop = drawLoop(
      async () => {
        const figure = buildRef.current({ widthPx: div.clientWidth, heightPx: div.clientHeight });
        if (plotly === null || disposed || figure === null) return;
        await plotly.react(div, figure.data, figure.layout, PLOT_CONFIG);
      },
      REDRAW_INTERVAL_MS,
      (e) => console.error('kfac-lab: chart redraw failed', e),
    );
    loopRef.current = loop;
    // Size-dependent parts of a figure (end labels, margins) follow the container, not only the window.
    const resizeObserver = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(() => loop.request());
    resizeObserver?.observe(div);
    loadPlotly().then(
      (api) => {
        if (disposed) return;
        plotly = api;
        setReady(true);
        loop.request();
      },
      (e: unknown) => {
        if (!disposed)
          setError(`The chart library could not be loaded (${e instanceof Error ? e.message : String(e)}); the data table still works.`);
      },
    );
    return () => {
      disposed = true;
      resizeObserver?.disconnect();
      loop.dispose();
      loopRef.current = null;
      // Frees plotly's window listeners (the responsive resize handler among them).
      plotly?.purge(div);
    };
  }, []);

  // A new build (its inputs changed: useCallback it) means a new figure: keep it and ask for a redraw.
  useEffect(() => {
    buildRef.current = build;
    loopRef.current?.request();
  }, [build]);

  const request = useCallback(() => loopRef.current?.request(), []);
  return { ref, request, ready, error };
}

/** A counter that follows the series' notifications, at most once per intervalMs: re-render slowly, not per step. */
export function useSeriesTick(series: MetricSeries, intervalMs = SUMMARY_INTERVAL_MS): number {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const bump = throttle(() => setTick((n) => n + 1), intervalMs);
    const unsubscribe = series.subscribe(() => bump.request());
    return () => {
      unsubscribe();
      bump.dispose();
    };
  }, [series, intervalMs]);
  return tick;
}

/** `value`, but changing at most once per intervalMs (the last value always arrives). */
export function useThrottledValue<T>(value: T, intervalMs = SUMMARY_INTERVAL_MS): T {
  const [shown, setShown] = useState(value);
  const lastShownAt = useRef(-Infinity);
  useEffect(() => {
    if (Object.is(value, shown)) return;
    const timer = setTimeout(
      () => {
        lastShownAt.current = Date.now();
        setShown(value);
      },
      Math.max(0, lastShownAt.current + intervalMs - Date.now()),
    );
    return () => clearTimeout(timer);
  }, [value, shown, intervalMs]);
  return shown;
}
