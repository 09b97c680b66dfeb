// Loads plotly on first use: a separate chunk of ~1 MB, so the page paints and the lab starts before it arrives.

import type { Config } from 'plotly.js-dist-min';

export type PlotlyApi = (typeof import('plotly.js-dist-min'))['default'];

let loading: Promise<PlotlyApi> | null = null;

export function loadPlotly(): Promise<PlotlyApi> {
  loading ??= import('plotly.js-dist-min').then(
    (module) => module.default,
    (error: unknown) => {
      loading = null; // let a later chart try again (a flaky network on a dev server)
      throw error;
    },
  );
  return loading;
}

/** Shared by every chart: resizes with its container, no plotly logo, no selection tools (nothing selects). */
export const PLOT_CONFIG: Partial<Config> = {
  responsive: true,
  displaylogo: false,
  modeBarButtonsToRemove: ['select2d', 'lasso2d', 'toImage'],
};

/** A file-name-safe version of a chart title. */
export function pngFileName(title: string): string {
  const base = title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return `kfac-lab-${base || 'chart'}`;
}

/** Downloads the plot in `div` as a PNG at twice its on-screen size (the figure's "Save PNG" button). */
export async function savePlotPng(div: HTMLElement, title: string): Promise<void> {
  const plotly = await loadPlotly();
  await plotly.downloadImage(div, {
    format: 'png',
    filename: pngFileName(title),
    width: Math.max(320, div.clientWidth),
    height: Math.max(240, div.clientHeight),
    scale: 2,
  });
}
