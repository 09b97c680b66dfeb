// window.__lab: a read-only view of the app's state for the Playwright tests (e2e/), so they assert
// on numbers rather than pixels, plus the lab's actions. Also handy in the browser console.
import type { ExperimentConfig } from '../engine/lab/experiment-config.ts';
import type { BackendReport, LabStatus } from '../worker/protocol.ts';
import type { GpuState, GpuStatus } from './gpu-session.ts';
import { metricSeries, useLabUi, type LabMessage, type RunProgress } from './lab/lab-store.ts';
import { useDiagnostics, type DiagnosticsState, type SelfCheckState } from './diagnostics-store.ts';
import { useCurvaturePage, type JobView, type PageMessage } from './pages/curvature/curvature-store.ts';
import type { CurvatureSettings } from './pages/curvature/curvature-url.ts';
import { parseRoute, type PageId } from './router.ts';
import { diffusionTestHook, type DiffusionTestHook } from './pages/influence/diffusion/diffusion-test-hook.ts';

/** The Curvature page's report in numbers: per layer, how many eigenvalues each spectrum holds, and the fits. */
export interface CurvatureReportView {
  device: string;
  examples: number;
  timings: { expandFactorsMs: number; reduceFactorsMs: number };
  layers: {
    name: string;
    params: number;
    spectra: { expandKfac: number; expandEkfac: number; reduceKfac: number; reduceEkfac: number; exact: number | null };
    topEigenvalue: { expandKfac: number | null; reduceKfac: number | null; exact: number | null };
    fit: { expand: { kfac: number; ekfac: number } | null; reduce: { kfac: number; ekfac: number } | null };
  }[];
}

export interface CurvatureTestHook {
  readonly settings: CurvatureSettings;
  readonly urlErrors: string[];
  readonly messages: PageMessage[];
  readonly training: JobView | null;
  readonly analysis: JobView | null;
  readonly hasCheckpoint: boolean;
  /** The chart library has been loaded and parsed (a one-off cost of opening the page). */
  readonly chartsReady: boolean;
  report(): CurvatureReportView | null;
}

export interface RunHistoryView {
  label: string;
  optimizer: string;
  step: number[];
  trainLoss: number[];
  valStep: number[];
  valMetric: number[];
  timeMs: number[];
  /** K-FAC runs: steps with a KL-clip scale ν, and ν there (empty for first-order runs). */
  klStep: number[];
  klScale: number[];
}

export interface LongTaskRecord {
  start: number;
  duration: number;
}

export interface LabExperimentHook {
  readonly status: LabStatus;
  readonly backend: BackendReport | null;
  readonly config: ExperimentConfig;
  readonly urlErrors: string[];
  readonly progress: RunProgress[];
  readonly messages: LabMessage[];
  readonly restored: boolean;
  readonly hasResult: boolean;
  readonly curvatureStep: number | null;
  histories(): RunHistoryView[];
  /** Points per trace drawn by each plotly chart, by the figure's id. */
  chartPoints(): Record<string, number[]>;
  /** Main-thread long tasks (PerformanceObserver 'longtask') since the page loaded. */
  longTasks(): LongTaskRecord[];
  setConfig(config: ExperimentConfig): void;
  start(): void;
  pause(): void;
  resume(): void;
  step(): void;
  reset(): void;
  loseDevice(): void;
}

export interface LabTestHook {
  /** 'probing' | 'webgpu' | 'cpu-fallback' | 'device-lost' (the page's own WebGPU probe) */
  readonly status: GpuState;
  /** The full status: adapter and limits, or the failure kind and reason. */
  readonly gpu: GpuStatus;
  readonly gpuErrors: DiagnosticsState['gpuErrors'];
  readonly selfCheck: SelfCheckState;
  runSelfCheck(): Promise<void>;
  retryWebGPU(): Promise<void>;
  /** Destroys the page's WebGPU device as if the GPU had reset; false when there is no live device. */
  simulateDeviceLoss(): boolean;
  /** The training lab (its worker's state). */
  readonly lab: LabExperimentHook;
  /** The page the hash routes to. */
  readonly page: PageId;
  /** The Curvature page's state. */
  readonly curvature: CurvatureTestHook;
  /** The Influence page's diffusion section. */
  readonly diffusion: DiffusionTestHook;
}

declare global {
  interface Window {
    __lab?: LabTestHook;
  }
}

const longTasks: LongTaskRecord[] = [];

function observeLongTasks(): void {
  if (typeof PerformanceObserver === 'undefined' || !PerformanceObserver.supportedEntryTypes?.includes('longtask')) return;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) longTasks.push({ start: entry.startTime, duration: entry.duration });
  }).observe({ type: 'longtask', buffered: true });
}

interface PlotlyDiv extends HTMLElement {
  data?: { x?: ArrayLike<unknown> }[];
}

const lab: LabExperimentHook = {
  get status() {
    return useLabUi.getState().status;
  },
  get backend() {
    return useLabUi.getState().backend;
  },
  get config() {
    return useLabUi.getState().config;
  },
  get urlErrors() {
    return useLabUi.getState().urlErrors;
  },
  get progress() {
    return useLabUi.getState().progress;
  },
  get messages() {
    return useLabUi.getState().messages;
  },
  get restored() {
    return useLabUi.getState().restored !== null;
  },
  get hasResult() {
    return useLabUi.getState().result !== null;
  },
  get curvatureStep() {
    return useLabUi.getState().curvature?.step ?? null;
  },
  histories() {
    return metricSeries.runs.map((meta, i) => {
      const s = metricSeries.series(i);
      return {
        label: meta.label,
        optimizer: meta.optimizer,
        step: [...s.step],
        trainLoss: [...s.trainLoss],
        valStep: [...s.valStep],
        valMetric: [...s.valMetric],
        timeMs: [...s.timeMs],
        klStep: [...metricSeries.klSeries(i).step],
        klScale: [...metricSeries.klSeries(i).scale],
      };
    });
  },
  chartPoints() {
    const out: Record<string, number[]> = {};
    for (const figure of document.querySelectorAll('figure[id]')) {
      const plot = figure.querySelector<PlotlyDiv>('.js-plotly-plot');
      if (plot?.data) out[figure.id] = plot.data.map((trace) => trace.x?.length ?? 0);
    }
    return out;
  },
  longTasks: () => [...longTasks],
  setConfig: (config) => useLabUi.getState().setConfig(config),
  start: () => useLabUi.getState().start(),
  pause: () => useLabUi.getState().pause(),
  resume: () => useLabUi.getState().resume(),
  step: () => useLabUi.getState().step(),
  reset: () => useLabUi.getState().reset(),
  loseDevice: () => useLabUi.getState().simulateDeviceLoss(),
};

const curvature: CurvatureTestHook = {
  get settings() {
    return useCurvaturePage.getState().settings;
  },
  get urlErrors() {
    return useCurvaturePage.getState().urlErrors;
  },
  get messages() {
    return useCurvaturePage.getState().messages;
  },
  get training() {
    return useCurvaturePage.getState().training;
  },
  get analysis() {
    return useCurvaturePage.getState().analysis;
  },
  get hasCheckpoint() {
    return useCurvaturePage.getState().checkpoint !== null;
  },
  get chartsReady() {
    return useCurvaturePage.getState().chartsReady;
  },
  report() {
    const result = useCurvaturePage.getState().result;
    if (!result) return null;
    const { report } = result;
    return {
      device: report.device,
      examples: report.examples,
      timings: { expandFactorsMs: report.timings.expandFactorsMs, reduceFactorsMs: report.timings.reduceFactorsMs },
      layers: report.layers.map((l) => ({
        name: l.name,
        params: l.params,
        spectra: {
          expandKfac: l.expand.kfac.length,
          expandEkfac: l.expand.ekfac.length,
          reduceKfac: l.reduce.kfac.length,
          reduceEkfac: l.reduce.ekfac.length,
          exact: l.exact ? l.exact.eigenvalues.length : null,
        },
        topEigenvalue: {
          expandKfac: l.expand.kfac[0] ?? null,
          reduceKfac: l.reduce.kfac[0] ?? null,
          exact: l.exact?.eigenvalues[0] ?? null,
        },
        fit: { expand: l.expand.fit, reduce: l.reduce.fit },
      })),
    };
  },
};

export function installTestHook(): void {
  observeLongTasks();
  window.__lab = {
    get status() {
      return useDiagnostics.getState().gpu.state;
    },
    get gpu() {
      return useDiagnostics.getState().gpu;
    },
    get gpuErrors() {
      return useDiagnostics.getState().gpuErrors;
    },
    get selfCheck() {
      return useDiagnostics.getState().selfCheck;
    },
    runSelfCheck: () => useDiagnostics.getState().runSelfCheck(),
    retryWebGPU: () => useDiagnostics.getState().retryWebGPU(),
    simulateDeviceLoss: () => useDiagnostics.getState().simulateDeviceLoss(),
    lab,
    get page() {
      return parseRoute(window.location.hash).page;
    },
    curvature,
    diffusion: diffusionTestHook,
  };
}
