// The Curvature page's state (zustand): its settings (mirrored in the URL), the model it looks at
// (the seed's fresh model, one trained here, or a checkpoint from the race, this browser's storage
// or a file), the two worker jobs (training, the curvature report) with their progress, and the
// report. The page never computes curvature itself: the worker's 'curvature' job does.
import { create } from 'zustand';
import type { JobProgress } from '../../../worker/protocol.ts';
import type { CurvatureJobResult } from '../../../worker/jobs/curvature-job.ts';
import type { TrainJobResult } from '../../../worker/jobs/train-job.ts';
import { listCheckpoints, readCheckpoint, type CheckpointSummary, type StoredCheckpoint } from '../../checkpoints/checkpoint-library.ts';
import { checkpointActions } from '../../checkpoints/checkpoint-actions.ts';
import { takeHandedModel } from '../../checkpoints/handoff.ts';
import { JobFailure, startJob, type JobHandle } from '../../jobs/job-client.ts';
import { routeHash } from '../../router.ts';
import {
  curvatureSettingsFromQuery,
  curvatureSettingsToQuery,
  DEFAULT_CURVATURE_SETTINGS,
  type CurvatureSettings,
} from './curvature-url.ts';

export type JobStatus = 'running' | 'done' | 'failed' | 'cancelled';

export interface JobView {
  status: JobStatus;
  progress: JobProgress | null;
  /** ms from start to end (null while running). */
  elapsedMs: number | null;
  /** performance.now() at the start and the end (null while running): the window a job kept the page waiting. */
  startedAt: number;
  endedAt: number | null;
  error: string | null;
}

export interface PageMessage {
  id: number;
  kind: 'error' | 'warning' | 'info';
  text: string;
}

/** The model the page analyses when it is not the seed's fresh model. */
export interface ModelCheckpoint {
  bytes: Uint8Array;
  summary: CheckpointSummary;
  /** Where it came from, in words ("trained on this page", "the race's K-FAC-reduce run", a file name). */
  from: string;
  /** Trained on this page with these settings (so a change of steps or seed trains anew). */
  trainedWith: { task: string; steps: number; seed: number } | null;
}

export interface CurvaturePageState {
  settings: CurvatureSettings;
  urlErrors: string[];
  messages: PageMessage[];
  checkpoint: ModelCheckpoint | null;
  training: JobView | null;
  analysis: JobView | null;
  result: CurvatureJobResult | null;
  stored: StoredCheckpoint[];
  /** The chart library has loaded (it is parsed once, when the page first opens). */
  chartsReady: boolean;

  /** Read the URL's settings and take a model handed over by another page. */
  init(query: string): void;
  setSettings(settings: Partial<CurvatureSettings>): void;
  /** Analyse the chosen model, training it first when the source is 'train' and it is not trained yet. */
  analyse(): Promise<void>;
  /** Train the model (source 'train') without analysing it. */
  train(): Promise<boolean>;
  cancel(): void;
  selectLayer(layer: number): void;
  openStored(id: string): Promise<void>;
  upload(file: File): Promise<void>;
  keepInBrowser(): Promise<void>;
  download(): void;
  forgetStored(id: string): Promise<void>;
  dismissMessage(id: number): void;
}

/** Outside React: the running job's handle (to cancel it) and message ids. */
const runtime = {
  job: null as JobHandle<unknown> | null,
  messageId: 0,
  initialised: false,
  /** The query init() last read. */
  lastQuery: null as string | null,
};

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function trainedFits(checkpoint: ModelCheckpoint | null, s: CurvatureSettings): boolean {
  const t = checkpoint?.trainedWith;
  return t !== null && t !== undefined && t.task === s.task && t.steps === s.steps && t.seed === s.seed;
}

export const useCurvaturePage = create<CurvaturePageState>()((set, get) => {
  const message = (kind: PageMessage['kind'], text: string) =>
    set((s) => ({ messages: [...s.messages.slice(-4), { id: ++runtime.messageId, kind, text }] }));

  function writeUrl(settings: CurvatureSettings): void {
    window.history.replaceState(null, '', routeHash('curvature', curvatureSettingsToQuery(settings)));
  }

  /** Run one job with progress into `key`; resolves with its result, or null when it failed or was cancelled. */
  async function runJob<R>(key: 'training' | 'analysis', kind: 'train' | 'curvature', config: unknown): Promise<R | null> {
    if (runtime.job) return null;
    const started = performance.now();
    set({
      [key]: { status: 'running', progress: null, elapsedMs: null, error: null, startedAt: started, endedAt: null },
    } as Partial<CurvaturePageState>);
    const handle = startJob<R>(kind, config, (progress) =>
      set((s) => ({ [key]: { ...(s[key] as JobView), progress } }) as Partial<CurvaturePageState>),
    );
    runtime.job = handle as JobHandle<unknown>;
    try {
      const result = await handle.result;
      const endedAt = performance.now();
      set(
        (s) =>
          ({ [key]: { ...(s[key] as JobView), status: 'done', elapsedMs: endedAt - started, endedAt } }) as Partial<CurvaturePageState>,
      );
      return result;
    } catch (e) {
      const cancelled = e instanceof JobFailure && e.cancelled;
      const error = cancelled ? null : describeError(e);
      set(
        (s) =>
          ({
            [key]: {
              ...(s[key] as JobView),
              status: cancelled ? 'cancelled' : 'failed',
              elapsedMs: performance.now() - started,
              endedAt: performance.now(),
              error,
            },
          }) as Partial<CurvaturePageState>,
      );
      if (error) message('error', `${kind === 'train' ? 'Training' : 'The curvature report'} failed: ${error}`);
      return null;
    } finally {
      runtime.job = null;
    }
  }

  async function refreshStored(): Promise<void> {
    set({ stored: await listCheckpoints() });
  }

  return {
    settings: { ...DEFAULT_CURVATURE_SETTINGS },
    urlErrors: [],
    messages: [],
    checkpoint: null,
    training: null,
    analysis: null,
    result: null,
    stored: [],
    chartsReady: false,

    init(query) {
      // Coming back through the navigation ('#/curvature', no settings) keeps the page as it was.
      // The same query again (React's development mode runs effects twice) changes nothing.
      if (query !== runtime.lastQuery && !(query === '' && runtime.initialised)) {
        const fromUrl = curvatureSettingsFromQuery(query);
        set({ settings: fromUrl.settings, urlErrors: fromUrl.errors });
        if (fromUrl.errors.length > 0) message('warning', 'The link held invalid curvature settings; the page shows its defaults instead.');
      }
      runtime.initialised = true;
      runtime.lastQuery = query;
      const handed = takeHandedModel();
      if (handed) {
        try {
          const { summary } = readCheckpoint(handed.bytes);
          set((s) => ({
            checkpoint: { bytes: handed.bytes, summary, from: handed.from, trainedWith: null },
            settings: { ...s.settings, task: summary.task, model: 'checkpoint', layer: 0 },
            result: null,
          }));
        } catch (e) {
          message('error', `The model handed over could not be read: ${describeError(e)}`);
        }
      } else if (get().settings.model === 'checkpoint' && get().checkpoint) {
        // The checkpoint decides the task (React's development mode runs this effect twice).
        set((s) => ({ settings: { ...s.settings, task: s.checkpoint!.summary.task } }));
      } else if (get().settings.model === 'checkpoint') {
        message(
          'info',
          'The link asks for a checkpoint, which is not part of a link: choose one below (kept in this browser or a file), or train one.',
        );
      }
      writeUrl(get().settings);
      void refreshStored();
    },

    setSettings(partial) {
      const before = get().settings;
      const settings = { ...before, ...partial };
      // A checkpoint of another task cannot be analysed as this task's model.
      const checkpoint = get().checkpoint;
      const keep = checkpoint && checkpoint.summary.task === settings.task ? checkpoint : null;
      const resetLayer = partial.task !== undefined && partial.task !== before.task;
      set({ settings: resetLayer ? { ...settings, layer: 0 } : settings, checkpoint: keep });
      writeUrl(get().settings);
    },

    async train() {
      const { settings } = get();
      const result = await runJob<TrainJobResult>('training', 'train', { task: settings.task, steps: settings.steps, seed: settings.seed });
      if (!result) return false;
      const { summary } = readCheckpoint(result.checkpoint);
      set({
        checkpoint: {
          bytes: result.checkpoint,
          summary,
          from: `trained on this page (${result.steps} steps of ${result.label}, final loss ${result.finalLoss.toPrecision(3)}${
            result.valAccuracy === null ? '' : `, validation accuracy ${(100 * result.valAccuracy).toFixed(1)} %`
          })`,
          trainedWith: { task: settings.task, steps: settings.steps, seed: settings.seed },
        },
      });
      return true;
    },

    async analyse() {
      if (runtime.job) return;
      let { settings, checkpoint } = get();
      if (settings.model === 'train' && !trainedFits(checkpoint, settings)) {
        if (!(await get().train())) return;
        ({ settings, checkpoint } = get());
      }
      if (settings.model !== 'fresh' && !checkpoint) {
        message('error', 'Choose a model first: train one, take one from the race, or open a checkpoint.');
        return;
      }
      const model =
        settings.model === 'fresh' || !checkpoint
          ? { kind: 'fresh', seed: settings.seed }
          : { kind: 'checkpoint', bytes: checkpoint.bytes };
      const result = await runJob<CurvatureJobResult>('analysis', 'curvature', {
        task: settings.task,
        model,
        examples: settings.examples,
        fisher: settings.fisher,
        exactMaxParams: settings.exact,
      });
      if (!result) return;
      const layers = result.report.layers.length;
      if (settings.layer >= layers) {
        message('warning', `The model has ${layers} K-FAC layers; layer ${settings.layer} does not exist, so the first is shown.`);
        get().setSettings({ layer: 0 });
      }
      set({ result });
    },

    cancel() {
      runtime.job?.cancel();
    },

    selectLayer(layer) {
      get().setSettings({ layer });
    },

    ...checkpointActions({
      current: () => get().checkpoint,
      stored: () => get().stored,
      refreshStored,
      message,
      adopt(bytes, from, known) {
        const summary = known ?? readCheckpoint(bytes).summary;
        set((s) => ({
          checkpoint: { bytes, summary, from, trainedWith: null },
          settings: { ...s.settings, task: summary.task, model: 'checkpoint' },
        }));
        writeUrl(get().settings);
      },
      keptMessage: 'The model is kept in this browser; it is listed under “Kept in this browser”.',
      uploadError: 'That file is not a checkpoint the lab can use',
    }),

    dismissMessage: (id) => set((s) => ({ messages: s.messages.filter((m) => m.id !== id) })),
  };
});
