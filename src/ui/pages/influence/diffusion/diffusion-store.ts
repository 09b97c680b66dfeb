// State of the diffusion section of the Influence page (zustand): its settings, the worker's
// 'diffusion' job with its progress, the result, and which method and sample the scatter shows.
// The section never computes anything itself: the job trains, samples and scores.
import { create } from 'zustand';
import type { JobProgress } from '../../../../worker/protocol.ts';
import type { DiffusionJobConfig, DiffusionJobResult, DiffusionMethod } from '../../../../worker/jobs/diffusion-job.ts';
import { JobFailure, startJob, type JobHandle } from '../../../jobs/job-client.ts';
import { downloadText, fileTimestamp } from '../../../results/exports.ts';
import { diffusionExport } from './diffusion-figures.ts';

export interface DiffusionSettings {
  cloud: 'spirals' | 'checkerboard';
  points: number;
  trainSteps: number;
  seed: number;
  sampleSeed: number;
  queries: number;
  measurement: 'loss' | 'elbo';
  relativeDamping: number;
  /** Fixed (t, ε) draws per training point. */
  trainDraws: number;
}

export const DEFAULT_DIFFUSION_SETTINGS: DiffusionSettings = {
  cloud: 'spirals',
  points: 256,
  trainSteps: 1500,
  seed: 1,
  sampleSeed: 1,
  queries: 8,
  measurement: 'loss',
  relativeDamping: 10,
  trainDraws: 32,
};

export interface DiffusionJobView {
  status: 'running' | 'done' | 'failed' | 'cancelled';
  progress: JobProgress | null;
  elapsedMs: number | null;
  error: string | null;
}

export interface DiffusionState {
  settings: DiffusionSettings;
  job: DiffusionJobView | null;
  result: DiffusionJobResult | null;
  /** Settings the result's weights were trained with (so only a change of data or model retrains). */
  trainedWith: Pick<DiffusionSettings, 'cloud' | 'points' | 'trainSteps' | 'seed'> | null;
  method: DiffusionMethod;
  query: number;
  setSettings(partial: Partial<DiffusionSettings>): void;
  /** Train (unless the last weights fit the settings), sample and score. */
  run(options?: { retrain?: boolean }): Promise<void>;
  cancel(): void;
  setMethod(method: DiffusionMethod): void;
  setQuery(query: number): void;
  exportJson(): void;
}

let handle: JobHandle<DiffusionJobResult> | null = null;

function sameTraining(a: DiffusionState['trainedWith'], s: DiffusionSettings): boolean {
  return a !== null && a.cloud === s.cloud && a.points === s.points && a.trainSteps === s.trainSteps && a.seed === s.seed;
}

/** Whether the next run reuses the last result's weights. */
export function reusesWeights(state: Pick<DiffusionState, 'result' | 'trainedWith' | 'settings'>): boolean {
  return state.result !== null && sameTraining(state.trainedWith, state.settings);
}

export const useDiffusion = create<DiffusionState>((set, get) => ({
  settings: { ...DEFAULT_DIFFUSION_SETTINGS },
  job: null,
  result: null,
  trainedWith: null,
  method: 'ekfac',
  query: 0,

  setSettings(partial) {
    set({ settings: { ...get().settings, ...partial } });
  },

  async run(options = {}) {
    if (get().job?.status === 'running') return;
    const { settings, result } = get();
    const reuse = !options.retrain && reusesWeights(get());
    const config: Partial<DiffusionJobConfig> = {
      cloud: settings.cloud,
      points: settings.points,
      trainSteps: settings.trainSteps,
      seed: settings.seed,
      sampleSeed: settings.sampleSeed,
      queries: settings.queries,
      measurement: settings.measurement,
      relativeDamping: settings.relativeDamping,
      trainDraws: settings.trainDraws,
      ...(reuse && result ? { weights: result.weights } : {}),
    };
    const started = performance.now();
    set({ job: { status: 'running', progress: null, elapsedMs: null, error: null } });
    handle = startJob<DiffusionJobResult>('diffusion', config, (progress) => {
      const job = get().job;
      if (job?.status === 'running') set({ job: { ...job, progress } });
    });
    try {
      const next = await handle.result;
      set({
        result: next,
        trainedWith: { cloud: settings.cloud, points: settings.points, trainSteps: settings.trainSteps, seed: settings.seed },
        query: Math.min(get().query, next.queries - 1),
        job: { status: 'done', progress: get().job?.progress ?? null, elapsedMs: performance.now() - started, error: null },
      });
    } catch (e) {
      const cancelled = e instanceof JobFailure && e.cancelled;
      set({
        job: {
          status: cancelled ? 'cancelled' : 'failed',
          progress: get().job?.progress ?? null,
          elapsedMs: performance.now() - started,
          error: cancelled ? null : e instanceof Error ? e.message : String(e),
        },
      });
    } finally {
      handle = null;
    }
  },

  cancel() {
    handle?.cancel();
  },

  setMethod(method) {
    set({ method });
  },

  setQuery(query) {
    const result = get().result;
    if (result && Number.isInteger(query) && query >= 0 && query < result.queries) set({ query });
  },

  exportJson() {
    const result = get().result;
    if (!result) return;
    const date = new Date();
    downloadText(
      `kfac-lab-diffusion-influence-${fileTimestamp(date)}.json`,
      `${JSON.stringify(diffusionExport(result, date), null, 2)}\n`,
      'application/json',
    );
  },
}));
