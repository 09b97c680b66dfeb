// The Laplace page's state (zustand): its settings (mirrored in the URL: '#/laplace?task=cnn-mnist&
// epochs=5&train=1024&test=512&k=10&f=1&grid=1&seed=0&scaling=64'), the worker's 'marglik' job with its progress,
// the Laplace fits as they arrive (log marglik, δ_l, fit time per flavour) and the final result. The
// page computes nothing itself: the job runs the engine (src/engine/tools/marglik/experiment.ts).
import { create } from 'zustand';
import type { TaskId } from '../../../engine/lab/tasks.ts';
import type { JobProgress } from '../../../worker/protocol.ts';
import { MARGLIK_TASKS, type MarglikJobResult } from '../../../worker/jobs/marglik-job.ts';
import { JobFailure, startJob, type JobHandle } from '../../jobs/job-client.ts';
import { routeHash } from '../../router.ts';
import { downloadText } from '../../results/exports.ts';
import type { FitPoint, Flavour } from './laplace-figures.ts';

export interface LaplaceSettings {
  task: TaskId;
  epochs: number;
  trainExamples: number;
  testExamples: number;
  hyperSteps: number;
  frequency: number;
  seed: number;
  grid: boolean;
  /** Images per fit for the time-per-fit-against-R measurement (0: skip it). */
  scalingExamples: number;
}

export const DEFAULT_LAPLACE_SETTINGS: LaplaceSettings = {
  task: 'cnn-mnist',
  epochs: 5,
  trainExamples: 1024,
  testExamples: 512,
  hyperSteps: 10,
  frequency: 1,
  seed: 0,
  grid: true,
  scalingExamples: 64,
};

/** Each number setting: its URL key and range. */
const NUMBER_FIELDS: readonly { key: keyof LaplaceSettings; param: string; min: number; max: number }[] = [
  { key: 'epochs', param: 'epochs', min: 1, max: 200 },
  { key: 'trainExamples', param: 'train', min: 16, max: 4096 },
  { key: 'testExamples', param: 'test', min: 16, max: 512 },
  { key: 'hyperSteps', param: 'k', min: 1, max: 1000 },
  { key: 'frequency', param: 'f', min: 1, max: 50 },
  { key: 'seed', param: 'seed', min: 0, max: 2 ** 31 - 1 },
  { key: 'scalingExamples', param: 'scaling', min: 0, max: 1024 },
];

export const SETTING_LIMITS = Object.fromEntries(NUMBER_FIELDS.map((f) => [f.key, { min: f.min, max: f.max }])) as Record<
  string,
  { min: number; max: number }
>;

/** Settings from the page's query; bad values fall back to the defaults, each with a message. */
export function laplaceSettingsFromQuery(query: string): { settings: LaplaceSettings; errors: string[] } {
  const params = new URLSearchParams(query);
  const settings = { ...DEFAULT_LAPLACE_SETTINGS };
  const errors: string[] = [];
  const task = params.get('task');
  if (task !== null) {
    if ((MARGLIK_TASKS as readonly string[]).includes(task)) settings.task = task as TaskId;
    else errors.push(`task: ${JSON.stringify(task.slice(0, 40))} is not one of ${MARGLIK_TASKS.join(', ')}`);
  }
  for (const f of NUMBER_FIELDS) {
    const raw = params.get(f.param);
    if (raw === null) continue;
    const n = Number(raw);
    if (Number.isInteger(n) && n >= f.min && n <= f.max) (settings[f.key] as number) = n;
    else errors.push(`${f.param}: expected a whole number from ${f.min} to ${f.max}, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  const grid = params.get('grid');
  if (grid !== null) {
    if (grid === '1' || grid === '0') settings.grid = grid === '1';
    else errors.push(`grid: expected 0 or 1, got ${JSON.stringify(grid.slice(0, 40))}`);
  }
  return { settings, errors };
}

export function laplaceSettingsToQuery(s: LaplaceSettings): string {
  const params = new URLSearchParams({ task: s.task });
  for (const f of NUMBER_FIELDS) params.set(f.param, String(s[f.key]));
  params.set('grid', s.grid ? '1' : '0');
  return params.toString();
}

export type JobStatus = 'running' | 'done' | 'failed' | 'cancelled';

export interface PageMessage {
  id: number;
  kind: 'error' | 'warning' | 'info';
  text: string;
}

export interface LaplacePageState {
  settings: LaplaceSettings;
  urlErrors: string[];
  messages: PageMessage[];
  status: JobStatus | null;
  progress: JobProgress | null;
  startedAt: number | null;
  endedAt: number | null;
  /** The fits so far, per flavour. */
  fits: Record<Flavour, FitPoint[]>;
  result: MarglikJobResult | null;
  chartsReady: boolean;
  initialised: boolean;
  lastQuery: string | null;
  init(query: string): void;
  setSettings(partial: Partial<LaplaceSettings>): void;
  run(): void;
  cancel(): void;
  exportJson(): void;
  dismissMessage(id: number): void;
}

let handle: JobHandle<MarglikJobResult> | null = null;
let messageId = 0;

function fitFromValues(values: Record<string, number> | undefined): { run: number; fit: FitPoint; count: number } | null {
  if (!values || !(values.fits >= 1) || values['fit.epoch'] === undefined) return null;
  const precision: number[] = [];
  for (let k = 0; values[`fit.delta.${k}`] !== undefined; k++) precision.push(values[`fit.delta.${k}`]);
  return {
    run: values.run,
    count: values.fits,
    fit: { epoch: values['fit.epoch'], logMarglik: values['fit.logMarglik'], fitMs: values['fit.fitMs'], precision },
  };
}

export const useLaplacePage = create<LaplacePageState>((set, get) => ({
  settings: DEFAULT_LAPLACE_SETTINGS,
  urlErrors: [],
  messages: [],
  status: null,
  progress: null,
  startedAt: null,
  endedAt: null,
  fits: { expand: [], reduce: [] },
  result: null,
  chartsReady: false,
  initialised: false,
  lastQuery: null,

  init(query) {
    if (get().initialised && get().lastQuery === query) return;
    const { settings, errors } = laplaceSettingsFromQuery(query);
    set({
      settings,
      urlErrors: errors,
      initialised: true,
      lastQuery: query,
      messages: errors.length
        ? [
            {
              id: ++messageId,
              kind: 'warning',
              text: 'The link had settings this page cannot use; it shows the defaults for those instead.',
            },
          ]
        : [],
    });
  },

  setSettings(partial) {
    const settings = { ...get().settings, ...partial };
    const query = laplaceSettingsToQuery(settings);
    set({ settings, lastQuery: query });
    window.history.replaceState(null, '', routeHash('laplace', query));
  },

  run() {
    if (get().status === 'running') return;
    const s = get().settings;
    set({ status: 'running', progress: null, fits: { expand: [], reduce: [] }, result: null, startedAt: performance.now(), endedAt: null });
    const seen = [0, 0];
    handle = startJob<MarglikJobResult>(
      'marglik',
      {
        task: s.task,
        seed: s.seed,
        epochs: s.epochs,
        frequency: s.frequency,
        hyperSteps: s.hyperSteps,
        trainExamples: s.trainExamples,
        testExamples: s.testExamples,
        grid: s.grid,
        scalingExamples: s.scalingExamples,
      },
      (progress) => {
        const latest = fitFromValues(progress.values);
        if (latest && (latest.run === 0 || latest.run === 1) && latest.count > seen[latest.run]) {
          seen[latest.run] = latest.count;
          const flavour: Flavour = latest.run === 0 ? 'expand' : 'reduce';
          const fits = get().fits;
          set({ progress, fits: { ...fits, [flavour]: [...fits[flavour], latest.fit] } });
        } else set({ progress });
      },
    );
    handle.result.then(
      (result) => {
        const fitsOf = (i: number): FitPoint[] =>
          result.runs[i].fits.map((f) => ({ epoch: f.epoch, logMarglik: f.terms.logMarglik, fitMs: f.fitMs, precision: f.precision }));
        set({ status: 'done', result, fits: { expand: fitsOf(0), reduce: fitsOf(1) }, endedAt: performance.now() });
        handle = null;
      },
      (e: unknown) => {
        const cancelled = e instanceof JobFailure && e.cancelled;
        const text = cancelled ? 'The run was cancelled.' : `The run failed: ${e instanceof Error ? e.message : String(e)}`;
        set((st) => ({
          status: cancelled ? 'cancelled' : 'failed',
          endedAt: performance.now(),
          messages: [...st.messages, { id: ++messageId, kind: cancelled ? 'info' : 'error', text }],
        }));
        handle = null;
      },
    );
  },

  cancel() {
    handle?.cancel();
  },

  exportJson() {
    const { result, settings } = get();
    if (!result) return;
    const date = new Date().toISOString().replace(/[:.]/g, '-');
    downloadText(
      `kfac-lab-laplace-${settings.task}-${date}.json`,
      `${JSON.stringify({ settings, ...result }, null, 2)}\n`,
      'application/json',
    );
  },

  dismissMessage(id) {
    set((s) => ({ messages: s.messages.filter((m) => m.id !== id) }));
  },
}));
