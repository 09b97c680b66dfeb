// The lab's UI state (zustand): the experiment config (mirrored in the URL hash), the worker's
// backend report and status, per-run progress, phase totals, the curvature snapshot, the finished
// result and messages. The high-frequency metric points do not pass through here: they go from the
// worker straight into `metricSeries`, which the charts subscribe to; the store only takes a
// throttled progress summary from it, so React re-renders a few times a second, not per step.
import { create } from 'zustand';
import type { ExperimentConfig, ResolvedConfig } from '../../engine/lab/experiment-config.ts';
import type { ExperimentResult, MetricPoint } from '../../engine/lab/results.ts';
import { labJson, type LabJson } from '../../engine/lab/report.ts';
import type { CurvatureSnapshot } from '../../engine/curvature/snapshot.ts';
import {
  packMetrics,
  type BackendPreference,
  type BackendReport,
  type LabCommand,
  type LabEvent,
  type LabStatus,
  type MetricsBatch,
} from '../../worker/protocol.ts';
import { MetricSeries, type RunMeta } from '../charts/metric-series.ts';
import { DEFAULT_CHART_SETTINGS, type ChartSettings } from '../charts/ChartControls.tsx';
import { configFromHash, configToHash } from '../url-state.ts';
import { loadLastResults, saveLastResults, type SavedResults } from '../persistence.ts';
import type { LabClient } from './client.ts';
import { labWorker } from './worker-connection.ts';
import { navigate, parseRoute } from '../router.ts';
import { captureRunModel } from '../jobs/job-client.ts';
import { handOver } from '../checkpoints/handoff.ts';
import { checkConfig } from '../setup/config-checks.ts';

/** Every chart reads the points from here (outside React). */
export const metricSeries = new MetricSeries();

export interface RunProgress {
  stepsDone: number;
  elapsedMs: number;
  /** Step at which the run reached the target (first evaluation at or above it). */
  targetStep: number | null;
  /** Why the run stopped early (divergence, numerical failure, device loss). */
  error: string | null;
  ended: boolean;
}

export interface LabMessage {
  id: number;
  kind: 'error' | 'warning' | 'info';
  text: string;
}

export interface CurvatureView {
  run: number;
  step: number;
  snapshot: CurvatureSnapshot;
}

export interface LabUiState {
  config: ExperimentConfig;
  /** Problems found in the URL the page was opened with (shown once, then the defaults apply). */
  urlErrors: string[];
  backend: BackendReport | null;
  status: LabStatus;
  /** The running (or last) experiment as the worker resolved it. */
  resolved: ResolvedConfig | null;
  parameterCount: number | null;
  runs: RunMeta[];
  progress: RunProgress[];
  /** Per run, total ms per phase so far, and the steps those totals cover. */
  phases: Record<string, number>[];
  phaseSteps: number[];
  kfacLayers: Record<number, string[]>;
  curvatureSelection: { run: number; layer: string | null } | null;
  curvature: CurvatureView | null;
  result: ExperimentResult | null;
  /** Results restored from IndexedDB after a reload (shown until a new experiment starts). */
  restored: SavedResults | null;
  messages: LabMessage[];
  chart: ChartSettings;
  /** Wall-clock ms the experiment has been running (pauses excluded), for the ETA. */
  activeMs: number;

  init(): void;
  setConfig(config: ExperimentConfig): void;
  start(options?: { paused?: boolean }): void;
  pause(): void;
  resume(): void;
  step(): void;
  reset(): void;
  reopenBackend(prefer: BackendPreference): void;
  selectCurvature(run: number, layer: string | null): void;
  setChart(settings: Partial<ChartSettings>): void;
  dismissMessage(id: number): void;
  simulateDeviceLoss(): void;
  /** Hand run `run`'s current model to the Curvature page (paused or finished experiments). */
  analyseRun(run: number): Promise<void>;
  /** The finished (or restored) results as the JSON document of `npm run lab --json`. */
  resultsDoc(): LabJson | null;
}

/** Refresh the curvature panel every this many steps. */
const CURVATURE_EVERY = 10;
/** React state follows the training at most this often (the charts draw from metricSeries themselves). */
const PROGRESS_INTERVAL_MS = 250;
const PHASES_INTERVAL_MS = 2000;

/**
 * The store's working state outside React, in one place: whether the worker connection is set up,
 * message ids, the wall-clock bookkeeping and the timers of the throttled updates.
 */
const runtime = {
  /** The lab worker, once init() has subscribed to it (shared with the tool pages: worker-connection.ts). */
  client: null as LabClient | null,
  messageId: 0,
  /** When the current stretch of running began (null while not running). */
  activeSince: null as number | null,
  /** A single step asked for while idle: start paused, then step once the worker says it is paused. */
  stepWhenPaused: false,
  progressTimer: null as ReturnType<typeof setTimeout> | null,
  phasesTimer: null as ReturnType<typeof setTimeout> | null,
  pendingPhases: null as Record<string, number>[] | null,
};

function send(command: LabCommand): void {
  runtime.client?.send(command);
}

function emptyProgress(): RunProgress {
  return { stepsDone: 0, elapsedMs: 0, targetStep: null, error: null, ended: false };
}

/** The points of finished runs as one metrics batch (to show restored results in the charts). */
export function historiesToBatch(doc: LabJson): MetricsBatch {
  const points: MetricPoint[] = doc.runs.flatMap((r, run) =>
    r.history.step.map((step, i) => ({
      run,
      step,
      trainLoss: r.history.trainLoss[i],
      valMetric: r.history.valMetric[i] ?? undefined,
      elapsedMs: r.history.timeMs[i],
      klScale: r.history.klScale?.[i] ?? undefined,
    })),
  );
  return packMetrics(points).batch;
}

function divergenceAdvice(optimizer: string): string {
  return optimizer.startsWith('kfac') ? ' — try a smaller learning rate or more damping' : ' — try a smaller learning rate';
}

export const useLabUi = create<LabUiState>()((set, get) => {
  const message = (kind: LabMessage['kind'], text: string) =>
    set((s) => ({ messages: [...s.messages.slice(-4), { id: ++runtime.messageId, kind, text }] }));

  function syncProgress(): void {
    const { runs, progress, resolved } = get();
    if (runs.length === 0) return;
    const target = resolved?.target?.value ?? null;
    const next = runs.map((_, i) => {
      const series = metricSeries.series(i);
      const old = progress[i] ?? emptyProgress();
      let targetStep = old.targetStep;
      if (targetStep === null && target !== null) {
        const k = series.valMetric.findIndex((v) => v >= target);
        if (k >= 0) targetStep = series.valStep[k];
      }
      return { ...old, stepsDone: series.step.at(-1) ?? 0, elapsedMs: series.timeMs.at(-1) ?? 0, targetStep };
    });
    const now = performance.now();
    const activeMs = get().activeMs + (runtime.activeSince === null ? 0 : now - runtime.activeSince);
    if (runtime.activeSince !== null) runtime.activeSince = now;
    set({ progress: next, activeMs });
  }

  function flushPhases(): void {
    if (runtime.phasesTimer !== null) clearTimeout(runtime.phasesTimer);
    runtime.phasesTimer = null;
    if (runtime.pendingPhases)
      set({ phases: runtime.pendingPhases, phaseSteps: runtime.pendingPhases.map((_, i) => metricSeries.series(i).step.at(-1) ?? 0) });
    runtime.pendingPhases = null;
  }

  function scheduleProgress(): void {
    runtime.progressTimer ??= setTimeout(() => {
      runtime.progressTimer = null;
      syncProgress();
    }, PROGRESS_INTERVAL_MS);
  }

  function onEvent(event: LabEvent): void {
    switch (event.type) {
      case 'backend': {
        const wasWebGpu = get().backend?.webgpu;
        set({ backend: event.report });
        // A fallback the user did not choose (device loss, a failed reopen) deserves a message; the banner says the rest.
        if (wasWebGpu && !event.report.webgpu && event.report.failureKind !== 'chosen-cpu')
          message('warning', 'Training continues on the CPU backend; wall-clock numbers are not representative of a GPU.');
        break;
      }
      case 'status':
        if (event.status === 'paused' && runtime.stepWhenPaused) {
          runtime.stepWhenPaused = false;
          send({ type: 'step' });
        }
        if (event.status === 'running') runtime.activeSince ??= performance.now();
        else if (runtime.activeSince !== null) {
          syncProgress();
          flushPhases();
          runtime.activeSince = null;
        }
        set({ status: event.status });
        break;
      case 'started':
        metricSeries.reset(event.runs);
        runtime.activeSince = null;
        set({
          resolved: event.config,
          parameterCount: event.parameterCount,
          runs: event.runs,
          progress: event.runs.map(emptyProgress),
          phases: event.runs.map(() => ({})),
          phaseSteps: event.runs.map(() => 0),
          kfacLayers: event.kfacLayers,
          curvature: null,
          result: null,
          restored: null,
          activeMs: 0,
        });
        {
          // Show the first K-FAC run's curvature unless the user picked one that still exists.
          const kfacRuns = Object.keys(event.kfacLayers).map(Number);
          const pick = get().curvatureSelection;
          const selection = pick && kfacRuns.includes(pick.run) ? pick : kfacRuns.length > 0 ? { run: kfacRuns[0], layer: null } : null;
          set({ curvatureSelection: selection });
          if (selection) send({ type: 'curvature', run: selection.run, layer: selection.layer, every: CURVATURE_EVERY });
        }
        break;
      case 'metrics':
        metricSeries.append(event.batch);
        break;
      case 'phases':
        runtime.pendingPhases = event.totals;
        runtime.phasesTimer ??= setTimeout(flushPhases, PHASES_INTERVAL_MS);
        break;
      case 'run-end': {
        const { runs } = get();
        set((s) => ({
          progress: s.progress.map((p, i) => (i === event.run ? { ...p, ended: true, error: event.result.error ?? null } : p)),
        }));
        // What the optimizer said about its run (e.g. K-FAC-reduce with one example per batch).
        for (const notice of event.result.notices ?? []) message('warning', `${event.result.label}: ${notice.replace(/^[a-z-]+: /, '')}`);
        if (event.result.error) {
          const optimizer = runs[event.run]?.optimizer ?? '';
          const diverged = /diverged|non-finite|NaN|Infinity/i.test(event.result.error);
          message(
            'error',
            `${event.result.label}: ${event.result.error}${diverged ? divergenceAdvice(optimizer) : ''}. The other runs go on.`,
          );
        }
        break;
      }
      case 'curvature':
        set({ curvature: { run: event.run, step: event.step, snapshot: event.snapshot } });
        break;
      case 'done': {
        syncProgress();
        flushPhases();
        set({ result: event.result });
        const doc = get().resultsDoc();
        if (doc) {
          void saveLastResults({ savedAt: new Date().toISOString(), hash: configToHash(get().config), doc }).then((outcome) => {
            if (!outcome.ok) message('warning', `Results could not be kept for the next visit: ${outcome.reason}`);
          });
        }
        break;
      }
      case 'device-lost':
        message('error', event.message);
        break;
      case 'error':
        for (const text of event.messages) message('error', text);
        break;
    }
  }

  return {
    config: configFromHash('').config,
    urlErrors: [],
    backend: null,
    status: 'idle',
    resolved: null,
    parameterCount: null,
    runs: [],
    progress: [],
    phases: [],
    phaseSteps: [],
    kfacLayers: {},
    curvatureSelection: null,
    curvature: null,
    result: null,
    restored: null,
    messages: [],
    chart: DEFAULT_CHART_SETTINGS,
    activeMs: 0,

    // Idempotent: React's StrictMode runs effects twice in development.
    init() {
      if (runtime.client) return;
      // The race's config is the URL's only on the race's own page (router.ts).
      const route = parseRoute(window.location.hash);
      const fromUrl = route.page === 'race' ? configFromHash(route.query) : configFromHash('');
      set({ config: fromUrl.config, urlErrors: fromUrl.errors });
      if (fromUrl.errors.length > 0) message('warning', 'The link held an invalid experiment; the default experiment is shown instead.');
      runtime.client = labWorker();
      runtime.client.subscribe(onEvent);
      metricSeries.subscribe(() => {
        if (get().status === 'running' || get().status === 'paused') scheduleProgress();
      });
      send({ type: 'open', prefer: 'webgpu' });
      void loadLastResults().then((saved) => {
        if (!saved || get().status !== 'idle' || get().runs.length > 0) return;
        metricSeries.reset(saved.doc.runs.map((r) => ({ label: r.label, optimizer: r.optimizer })));
        metricSeries.append(historiesToBatch(saved.doc));
        set({
          restored: saved,
          runs: saved.doc.runs.map((r) => ({ label: r.label, optimizer: r.optimizer })),
          resolved: saved.doc.config,
          parameterCount: saved.doc.parameterCount,
          progress: saved.doc.runs.map((r) => ({
            stepsDone: r.stepsCompleted,
            elapsedMs: r.history.timeMs.at(-1) ?? 0,
            targetStep: r.stepsToTarget,
            error: r.error,
            ended: true,
          })),
          phases: saved.doc.runs.map((r) => r.phaseMs),
          phaseSteps: saved.doc.runs.map((r) => r.stepsCompleted),
        });
      });
    },

    setConfig(config) {
      set({ config });
      if (checkConfig(config).ok) window.history.replaceState(null, '', configToHash(config));
    },

    start(options = {}) {
      const { config, status } = get();
      if (status === 'running' || status === 'paused' || status === 'preparing') return;
      const check = checkConfig(config);
      if (!check.ok) {
        message('error', `The experiment is not valid: ${check.errors[0]}`);
        return;
      }
      window.history.replaceState(null, '', configToHash(config));
      send({ type: 'start', config, paused: options.paused });
    },
    pause: () => send({ type: 'pause' }),
    resume: () => send({ type: 'resume' }),
    step() {
      const { status } = get();
      if (status === 'paused') send({ type: 'step' });
      else if (status === 'idle' || status === 'done') {
        runtime.stepWhenPaused = true;
        get().start({ paused: true });
      }
    },
    reset: () => send({ type: 'reset' }),
    reopenBackend: (prefer) => send({ type: 'open', prefer }),
    selectCurvature(run, layer) {
      set({ curvatureSelection: { run, layer } });
      send({ type: 'curvature', run, layer, every: CURVATURE_EVERY });
    },
    setChart: (settings) => set((s) => ({ chart: { ...s.chart, ...settings } })),
    dismissMessage: (id) => set((s) => ({ messages: s.messages.filter((m) => m.id !== id) })),
    simulateDeviceLoss: () => send({ type: 'lose-device' }),
    async analyseRun(run) {
      const label = get().runs[run]?.label ?? `run ${run + 1}`;
      try {
        const bytes = await captureRunModel(run);
        handOver({ bytes, from: `the race’s ${label} run` });
        navigate('curvature', 'model=checkpoint');
      } catch (e) {
        message('error', `${label}’s model could not be handed over: ${e instanceof Error ? e.message : String(e)}`);
      }
    },
    resultsDoc() {
      const { result, backend, restored } = get();
      if (result && backend) return labJson(result, backend.device);
      return restored?.doc ?? null;
    },
  };
});
