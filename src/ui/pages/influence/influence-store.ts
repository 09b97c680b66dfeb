// The Influence page's state (zustand): settings (mirrored in the URL), the model (trained here by the
// influence recipe, or a checkpoint from the race, this browser or a file), the query (a test image
// from the gallery, or a digit drawn on the page), the worker jobs ('influence': gallery, scores,
// lds) with their progress, and their results. The page computes nothing itself.
import { create } from 'zustand';
import type { JobProgress } from '../../../worker/protocol.ts';
import type { InfluenceGalleryResult, InfluenceLdsResult, InfluenceScoresResult, ShownImage } from '../../../worker/jobs/influence-job.ts';
import { listCheckpoints, readCheckpoint, type CheckpointSummary, type StoredCheckpoint } from '../../checkpoints/checkpoint-library.ts';
import { checkpointActions } from '../../checkpoints/checkpoint-actions.ts';
import { takeHandedModel } from '../../checkpoints/handoff.ts';
import { JobFailure, startJob, type JobHandle } from '../../jobs/job-client.ts';
import { downloadText } from '../../results/exports.ts';
import { routeHash } from '../../router.ts';
import {
  DEFAULT_INFLUENCE_SETTINGS,
  influenceSettingsFromQuery,
  influenceSettingsToQuery,
  type InfluenceSettings,
} from './influence-url.ts';

export type JobStatus = 'running' | 'done' | 'failed' | 'cancelled';

export interface JobView {
  status: JobStatus;
  progress: JobProgress | null;
  elapsedMs: number | null;
  error: string | null;
}

export interface PageMessage {
  id: number;
  kind: 'error' | 'warning' | 'info';
  text: string;
}

export interface InfluenceModel {
  bytes: Uint8Array;
  summary: CheckpointSummary;
  from: string;
  /** Trained here with these settings (a change of task, steps, seed or examples trains anew). */
  trainedWith: { task: string; steps: number; seed: number; examples: number } | null;
}

/** The query: a test image (by index) or a drawing (196 values in [0, 1]) with an optional label. */
export type QueryChoice = { kind: 'test'; index: number } | { kind: 'drawn'; pixels: number[]; label: number | null };

export interface InfluencePageState {
  settings: InfluenceSettings;
  urlErrors: string[];
  messages: PageMessage[];
  model: InfluenceModel | null;
  /** Train here (the recipe) or use the checkpoint in `model`. */
  source: 'train' | 'checkpoint';
  queryChoice: QueryChoice;
  gallery: ShownImage[];
  stored: StoredCheckpoint[];
  scoresJob: JobView | null;
  ldsJob: JobView | null;
  scores: InfluenceScoresResult | null;
  lds: InfluenceLdsResult | null;

  init(query: string): void;
  setSettings(partial: Partial<InfluenceSettings>): void;
  setSource(source: 'train' | 'checkpoint'): void;
  chooseTest(index: number): void;
  chooseDrawing(pixels: number[], label: number | null): void;
  /** Train if needed, then score the training images on the query. */
  run(): Promise<void>;
  runLds(): Promise<void>;
  cancel(): void;
  openStored(id: string): Promise<void>;
  upload(file: File): Promise<void>;
  keepInBrowser(): Promise<void>;
  downloadModel(): void;
  exportJson(): void;
  dismissMessage(id: number): void;
}

const runtime = {
  job: null as JobHandle<unknown> | null,
  messageId: 0,
  lastQuery: null as string | null,
  initialised: false,
  galleryTask: null as string | null,
};

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function trainedFits(model: InfluenceModel | null, s: InfluenceSettings): boolean {
  const t = model?.trainedWith;
  return !!t && t.task === s.task && t.steps === s.steps && t.seed === s.seed && t.examples === s.examples;
}

/** Typed arrays as plain arrays, for the JSON export. */
function plain(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
}

export const useInfluencePage = create<InfluencePageState>()((set, get) => {
  const message = (kind: PageMessage['kind'], text: string) =>
    set((s) => ({ messages: [...s.messages.slice(-4), { id: ++runtime.messageId, kind, text }] }));

  function writeUrl(): void {
    window.history.replaceState(null, '', routeHash('influence', influenceSettingsToQuery(get().settings)));
  }

  async function runJob<R>(key: 'scoresJob' | 'ldsJob' | null, config: Record<string, unknown>): Promise<R | null> {
    if (runtime.job) return null;
    const started = performance.now();
    if (key) set({ [key]: { status: 'running', progress: null, elapsedMs: null, error: null } } as Partial<InfluencePageState>);
    const handle = startJob<R>('influence', config, (progress) => {
      if (key) set((s) => ({ [key]: { ...(s[key] as JobView), progress } }) as Partial<InfluencePageState>);
    });
    runtime.job = handle as JobHandle<unknown>;
    try {
      const result = await handle.result;
      if (key)
        set(
          (s) =>
            ({ [key]: { ...(s[key] as JobView), status: 'done', elapsedMs: performance.now() - started } }) as Partial<InfluencePageState>,
        );
      return result;
    } catch (e) {
      const cancelled = e instanceof JobFailure && e.cancelled;
      const error = cancelled ? null : describeError(e);
      if (key)
        set(
          (s) =>
            ({
              [key]: { ...(s[key] as JobView), status: cancelled ? 'cancelled' : 'failed', elapsedMs: performance.now() - started, error },
            }) as Partial<InfluencePageState>,
        );
      if (error)
        message(
          'error',
          `${key === 'ldsJob' ? 'The LDS evaluation' : key === 'scoresJob' ? 'Scoring' : 'Loading the test images'} failed: ${error}`,
        );
      return null;
    } finally {
      runtime.job = null;
    }
  }

  async function loadGallery(): Promise<void> {
    const task = get().settings.task;
    if (runtime.galleryTask === task) return;
    const result = await runJob<InfluenceGalleryResult>(null, { action: 'gallery', task, galleryStart: 0, galleryCount: 24 });
    if (result) {
      runtime.galleryTask = task;
      set({ gallery: result.images });
    }
  }

  function modelConfig(): Record<string, unknown> {
    const { settings, model, source } = get();
    return source === 'checkpoint' && model
      ? { kind: 'checkpoint', bytes: model.bytes }
      : { kind: 'train', steps: settings.steps, seed: settings.seed };
  }

  async function refreshStored(): Promise<void> {
    set({ stored: await listCheckpoints() });
  }

  function takeCheckpoint(bytes: Uint8Array, from: string): void {
    const { summary } = readCheckpoint(bytes);
    if (summary.task !== 'mlp-mnist' && summary.task !== 'cnn-mnist') {
      message('error', `That is a model of ${summary.task}; influence here needs an MNIST classifier (mlp-mnist or cnn-mnist).`);
      return;
    }
    set((s) => ({
      model: { bytes, summary, from, trainedWith: null },
      source: 'checkpoint',
      settings: { ...s.settings, task: summary.task as InfluenceSettings['task'] },
    }));
    writeUrl();
  }

  const checkpoints = checkpointActions({
    current: () => get().model,
    stored: () => get().stored,
    refreshStored,
    message,
    adopt: takeCheckpoint,
    keptMessage: 'The model is kept in this browser.',
    uploadError: 'That file is not a checkpoint the lab can use',
  });

  return {
    settings: { ...DEFAULT_INFLUENCE_SETTINGS },
    urlErrors: [],
    messages: [],
    model: null,
    source: 'train',
    queryChoice: { kind: 'test', index: 0 },
    gallery: [],
    stored: [],
    scoresJob: null,
    ldsJob: null,
    scores: null,
    lds: null,

    init(query) {
      if (query !== runtime.lastQuery && !(query === '' && runtime.initialised)) {
        const fromUrl = influenceSettingsFromQuery(query);
        set({ settings: fromUrl.settings, urlErrors: fromUrl.errors, queryChoice: { kind: 'test', index: fromUrl.settings.query } });
        if (fromUrl.errors.length > 0) message('warning', 'The link held invalid influence settings; the page shows its defaults instead.');
      }
      runtime.initialised = true;
      runtime.lastQuery = query;
      const handed = takeHandedModel();
      if (handed) {
        try {
          takeCheckpoint(handed.bytes, handed.from);
        } catch (e) {
          message('error', `The model handed over could not be read: ${describeError(e)}`);
        }
      }
      writeUrl();
      void refreshStored();
      void loadGallery();
    },

    setSettings(partial) {
      const settings = { ...get().settings, ...partial };
      const model = get().model;
      const keepModel = model && model.summary.task === settings.task ? model : null;
      set({ settings, model: keepModel, source: keepModel ? get().source : 'train' });
      if (partial.query !== undefined) set({ queryChoice: { kind: 'test', index: partial.query } });
      writeUrl();
      if (partial.task !== undefined) void loadGallery();
    },

    setSource(source) {
      set({ source });
    },

    chooseTest(index) {
      get().setSettings({ query: index });
    },

    chooseDrawing(pixels, label) {
      set({ queryChoice: { kind: 'drawn', pixels, label } });
    },

    async run() {
      if (runtime.job) return;
      const { settings, source, model, queryChoice } = get();
      if (source === 'checkpoint' && !model) {
        message('error', 'Choose a model first: train one here, or open a checkpoint (from the race, this browser or a file).');
        return;
      }
      // A model trained here with the same settings is reused rather than trained again.
      const reuse = source === 'train' && trainedFits(model, settings);
      const result = await runJob<InfluenceScoresResult>('scoresJob', {
        action: 'scores',
        task: settings.task,
        model: reuse && model ? { kind: 'checkpoint', bytes: model.bytes } : modelConfig(),
        examples: settings.examples,
        damping: settings.damping,
        query: queryChoice,
        top: 8,
      });
      if (!result) return;
      if (result.model.checkpoint) {
        const { summary } = readCheckpoint(result.model.checkpoint);
        set({
          model: {
            bytes: result.model.checkpoint,
            summary,
            from: `trained on this page (${result.model.steps} Adam steps on ${result.examples} images, ${result.model.trainSeconds.toFixed(1)} s)`,
            trainedWith: { task: settings.task, steps: settings.steps, seed: settings.seed, examples: settings.examples },
          },
        });
      }
      set({ scores: result });
    },

    async runLds() {
      if (runtime.job) return;
      const { settings, source, model } = get();
      if (source === 'checkpoint' && !model) {
        message('error', 'Choose a model first: train one here, or open a checkpoint.');
        return;
      }
      const reuse = source === 'train' && trainedFits(model, settings);
      const result = await runJob<InfluenceLdsResult>('ldsJob', {
        action: 'lds',
        task: settings.task,
        model: reuse && model ? { kind: 'checkpoint', bytes: model.bytes } : modelConfig(),
        examples: settings.examples,
        damping: settings.damping,
        ldsQueries: settings.ldsQueries,
        subsets: settings.subsets,
        seeds: settings.seeds,
        ldsSteps: settings.steps,
      });
      if (result) set({ lds: result });
    },

    cancel() {
      runtime.job?.cancel();
    },

    openStored: checkpoints.openStored,
    upload: checkpoints.upload,
    keepInBrowser: checkpoints.keepInBrowser,
    downloadModel: checkpoints.download,

    exportJson() {
      const { settings, scores, lds } = get();
      const data = {
        format: 'kfac-lab-influence',
        version: 1,
        exportedAt: new Date().toISOString(),
        settings,
        scores: scores ? { ...scores, model: { ...scores.model, checkpoint: undefined } } : null,
        lds,
      };
      downloadText(`influence-${settings.task}.json`, JSON.stringify(plain(data), null, 1), 'application/json');
    },

    dismissMessage: (id) => set((s) => ({ messages: s.messages.filter((m) => m.id !== id) })),
  };
});
