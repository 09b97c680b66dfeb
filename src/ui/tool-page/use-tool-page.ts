// What every tool page does when it opens: read its settings from the link, and start loading the
// chart library while the user sets up (it is large), so the charts are ready when the result is.
import { useEffect } from 'react';
import type { StoreApi, UseBoundStore } from 'zustand';
import { loadPlotly } from '../charts/plotly-loader.ts';

/** The part of a tool page's store this hook uses. */
export interface ToolPageStart {
  init(query: string): void;
  /** The chart library has loaded. */
  chartsReady: boolean;
}

export function useToolPageStart<S extends ToolPageStart>(store: UseBoundStore<StoreApi<S>>, query: string): void {
  const init = store((s) => s.init);
  useEffect(() => init(query), [init, query]);
  useEffect(() => {
    loadPlotly().then(
      () => store.setState({ chartsReady: true } as Partial<S>),
      () => {
        // The figures show the load failure themselves.
      },
    );
  }, [store]);
}
