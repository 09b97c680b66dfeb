// The Pruning page's state (zustand): its settings (mirrored in the URL), the model it prunes (one
// trained on this page, kept in this browser or uploaded), the worker's 'prune' job with its progress,
// and the result. The page computes nothing itself: the worker's job trains and prunes.
import { create } from 'zustand';
import type { JobProgress } from '../../../worker/protocol.ts';
import type { PruneJobResult } from '../../../worker/jobs/prune-job.ts';
import { listCheckpoints, readCheckpoint, type CheckpointSummary, type StoredCheckpoint } from '../../checkpoints/checkpoint-library.ts';
import { checkpointActions } from '../../checkpoints/checkpoint-actions.ts';
import { JobFailure, startJob, type JobHandle } from '../../jobs/job-client.ts';
import { downloadText } from '../../results/exports.ts';
import { routeHash } from '../../router.ts';
import {
  DEFAULT_PRUNING_SETTINGS,
  pruningSettingsFromQuery,
  pruningSettingsToQuery,
  PRUNING_TASKS,
  type PruningSettings,
} from './pruning-url.ts';

export interface PruningJobView {
  status: 'running' | 'done' | 'failed' | 'cancelled';
  progress: JobProgress | null;
  elapsedMs: number | null;
  error: string | null;
}

export interface PruningMessage {
  id: number;
  kind: 'error' | 'warning' | 'info';
  text: string;
}

export interface PruningCheckpoint {
  bytes: Uint8Array;
  summary: CheckpointSummary;
  from: string;
  /** Trained on this page with these settings (a change of task, steps or seed trains anew). */
  trainedWith: { task: string; steps: number; seed: number } | null;
}

/** Which masks the mask figure shows. */
export interface MaskChoice {
  method: string;
  sparsity: number;
  layer: number;
}

export interface PruningPageState {
  settings: PruningSettings;
  urlErrors: string[];
  messages: PruningMessage[];
  checkpoint: PruningCheckpoint | null;
  job: PruningJobView | null;
  result: PruneJobResult | null;
  maskChoice: MaskChoice | null;
  stored: StoredCheckpoint[];
  chartsReady: boolean;
  init(query: string): void;
  setSettings(partial: Partial<PruningSettings>): void;
  run(): Promise<void>;
  cancel(): void;
  chooseMasks(choice: Partial<MaskChoice>): void;
  exportJson(): void;
  openStored(id: string): Promise<void>;
  upload(file: File): Promise<void>;
  keepInBrowser(): Promise<void>;
  download(): void;
  forgetStored(id: string): Promise<void>;
  dismissMessage(id: number): void;
}

const runtime = { job: null as JobHandle<unknown> | null, messageId: 0, lastQuery: null as string | null, initialised: false };

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The result as plain JSON: masks as rows of 0/1, the checkpoint's bytes left out. */
export function pruningResultJson(result: PruneJobResult): string {
  const { checkpoint, ...rest } = result;
  void checkpoint;
  return JSON.stringify(
    rest,
    (_key, value: unknown) => (value instanceof Uint8Array || value instanceof Float64Array ? Array.from(value) : value),
    1,
  );
}

export const usePruningPage = create<PruningPageState>()((set, get) => {
  const message = (kind: PruningMessage['kind'], text: string) =>
    set((s) => ({ messages: [...s.messages.slice(-4), { id: ++runtime.messageId, kind, text }] }));
  const writeUrl = (settings: PruningSettings) =>
    window.history.replaceState(null, '', routeHash('pruning', pruningSettingsToQuery(settings)));
  const refreshStored = async () => {
    try {
      set({ stored: await listCheckpoints() });
    } catch {
      // IndexedDB unavailable (private mode): the list stays empty.
    }
  };
  const adoptCheckpoint = (bytes: Uint8Array, from: string) => {
    const { summary } = readCheckpoint(bytes);
    if (!(PRUNING_TASKS as readonly string[]).includes(summary.task))
      throw new Error(`it is a model of task "${summary.task}"; this page prunes ${PRUNING_TASKS.join(' or ')}`);
    set((s) => ({
      checkpoint: { bytes, summary, from, trainedWith: null },
      settings: { ...s.settings, task: summary.task as PruningSettings['task'], model: 'checkpoint' },
    }));
    writeUrl(get().settings);
  };

  return {
    settings: { ...DEFAULT_PRUNING_SETTINGS },
    urlErrors: [],
    messages: [],
    checkpoint: null,
    job: null,
    result: null,
    maskChoice: null,
    stored: [],
    chartsReady: false,

    init(query) {
      if (query !== runtime.lastQuery && !(query === '' && runtime.initialised)) {
        const parsed = pruningSettingsFromQuery(query);
        set({ settings: parsed.settings, urlErrors: parsed.errors });
        if (parsed.errors.length > 0) message('warning', 'The link held invalid pruning settings; the page shows its defaults instead.');
      }
      runtime.initialised = true;
      runtime.lastQuery = query;
      if (get().settings.model === 'checkpoint' && !get().checkpoint)
        message('info', 'The link asks for a checkpoint, which is not part of a link: open one below, or train one here.');
      writeUrl(get().settings);
      void refreshStored();
    },

    setSettings(partial) {
      const settings = { ...get().settings, ...partial };
      const checkpoint = get().checkpoint;
      set({ settings, checkpoint: checkpoint && checkpoint.summary.task === settings.task ? checkpoint : null });
      writeUrl(settings);
    },

    async run() {
      if (runtime.job) return;
      const { settings, checkpoint } = get();
      const trained = checkpoint?.trainedWith;
      const reuse =
        checkpoint &&
        (settings.model === 'checkpoint' ||
          (trained && trained.task === settings.task && trained.steps === settings.steps && trained.seed === settings.seed));
      if (settings.model === 'checkpoint' && !checkpoint) {
        message('error', 'Choose a checkpoint first (kept in this browser or a file), or train a model here.');
        return;
      }
      const config = {
        task: settings.task,
        model: reuse ? { kind: 'checkpoint', bytes: checkpoint.bytes } : { kind: 'train', steps: settings.steps, seed: settings.seed },
        methods: settings.methods,
        sparsities: settings.sparsities,
        scope: settings.scope,
        damping: settings.damping,
        examples: settings.examples,
        finetune: settings.finetune,
        steps: settings.gradual,
        seed: settings.seed,
      };
      const started = performance.now();
      set({ job: { status: 'running', progress: null, elapsedMs: null, error: null } });
      const handle = startJob<PruneJobResult>('prune', config, (progress) => set((s) => ({ job: { ...s.job!, progress } })));
      runtime.job = handle as JobHandle<unknown>;
      try {
        const result = await handle.result;
        set((s) => ({ job: { ...s.job!, status: 'done', elapsedMs: performance.now() - started } }));
        if (result.checkpoint) {
          const { summary } = readCheckpoint(result.checkpoint);
          set({
            checkpoint: {
              bytes: result.checkpoint,
              summary,
              from: `trained on this page (${settings.steps} Adam steps, seed ${settings.seed})`,
              trainedWith: { task: settings.task, steps: settings.steps, seed: settings.seed },
            },
          });
        }
        const first = result.result.runs[0];
        set({ result, maskChoice: first ? { method: first.method, sparsity: first.sparsity, layer: 0 } : null });
      } catch (e) {
        const cancelled = e instanceof JobFailure && e.cancelled;
        const error = cancelled ? null : describeError(e);
        set((s) => ({ job: { ...s.job!, status: cancelled ? 'cancelled' : 'failed', elapsedMs: performance.now() - started, error } }));
        if (error) message('error', `Pruning failed: ${error}`);
      } finally {
        runtime.job = null;
      }
    },

    cancel() {
      runtime.job?.cancel();
    },

    chooseMasks(choice) {
      const current = get().maskChoice;
      if (current) set({ maskChoice: { ...current, ...choice } });
    },

    exportJson() {
      const result = get().result;
      if (!result) return;
      downloadText(`pruning-${result.task}.json`, pruningResultJson(result), 'application/json');
    },

    ...checkpointActions({
      current: () => get().checkpoint,
      stored: () => get().stored,
      refreshStored,
      message,
      adopt: adoptCheckpoint,
      keptMessage: 'The model is kept in this browser.',
      uploadError: 'That file cannot be pruned here',
    }),

    dismissMessage: (id) => set((s) => ({ messages: s.messages.filter((m) => m.id !== id) })),
  };
});

/** Test hook for the e2e tests (e2e/pruning.spec.ts): numbers, not pixels. */
export interface PruningTestHook {
  readonly settings: PruningSettings;
  readonly job: PruningJobView | null;
  readonly chartsReady: boolean;
  readonly messages: PruningMessage[];
  result(): {
    device: string;
    baseline: { testAccuracy: number; loss: number };
    runs: {
      method: string;
      sparsity: number;
      testAccuracy: number;
      finetunedAccuracy: number | null;
      measured: number;
      predicted: number | null;
      kept: number;
      total: number;
    }[];
  } | null;
}

declare global {
  interface Window {
    __pruning?: PruningTestHook;
  }
}

if (typeof window !== 'undefined') {
  window.__pruning = {
    get settings() {
      return usePruningPage.getState().settings;
    },
    get job() {
      return usePruningPage.getState().job;
    },
    get chartsReady() {
      return usePruningPage.getState().chartsReady;
    },
    get messages() {
      return usePruningPage.getState().messages;
    },
    result() {
      const r = usePruningPage.getState().result;
      if (!r) return null;
      return {
        device: r.device,
        baseline: r.result.baseline,
        runs: r.result.runs.map((run) => ({
          method: run.method,
          sparsity: run.sparsity,
          testAccuracy: run.testAccuracy,
          finetunedAccuracy: run.finetuned?.testAccuracy ?? null,
          measured: run.lossAfter - run.lossBefore,
          predicted: run.predictedIncrease,
          kept: run.layers.reduce((s, l) => s + l.kept, 0),
          total: run.layers.reduce((s, l) => s + l.dOut * l.dIn, 0),
        })),
      };
    },
  };
}
