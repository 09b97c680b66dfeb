// The Memorisation page's state (zustand): its settings (mirrored in the URL), the model (trained by
// the job, kept in this browser or uploaded), the 'edit' job with its progress, and the result the
// ρ slider reads. The page computes nothing itself: the worker's 'edit' job trains, fits K-FAC and
// evaluates every edit of the grid once; dragging ρ only picks a row of that result.
import { create } from 'zustand';
import type { JobProgress } from '../../../worker/protocol.ts';
import type { EditJobResult } from '../../../worker/jobs/edit-job.ts';
import { EXPERIMENTS, type ExperimentId } from '../../../engine/memorisation/experiments.ts';
import {
  describeCheckpoint,
  listCheckpoints,
  readCheckpoint,
  type CheckpointSummary,
  type StoredCheckpoint,
} from '../../checkpoints/checkpoint-library.ts';
import { checkpointActions } from '../../checkpoints/checkpoint-actions.ts';
import { JobFailure, startJob, type JobHandle } from '../../jobs/job-client.ts';
import { downloadText } from '../../results/exports.ts';
import { routeHash } from '../../router.ts';
import {
  defaultSettings,
  memorisationSettingsFromQuery,
  memorisationSettingsToQuery,
  type MemorisationSettings,
} from './memorisation-url.ts';

export interface EditJobView {
  status: 'running' | 'done' | 'failed' | 'cancelled';
  progress: JobProgress | null;
  elapsedMs: number | null;
  error: string | null;
}

export interface PageMessage {
  id: number;
  kind: 'error' | 'warning' | 'info';
  text: string;
}

export interface EditCheckpoint {
  bytes: Uint8Array;
  summary: CheckpointSummary;
  from: string;
}

export interface MemorisationPageState {
  settings: MemorisationSettings;
  urlErrors: string[];
  messages: PageMessage[];
  job: EditJobView | null;
  result: EditJobResult | null;
  checkpoint: EditCheckpoint | null;
  stored: StoredCheckpoint[];
  init(query: string): void;
  setSettings(partial: Partial<MemorisationSettings>): void;
  setExperiment(experiment: ExperimentId): void;
  toggleLayer(layer: number): void;
  run(): Promise<void>;
  cancel(): void;
  exportJson(): void;
  keepInBrowser(): Promise<void>;
  downloadModel(): void;
  openStored(id: string): Promise<void>;
  upload(file: File): Promise<void>;
  forgetStored(id: string): Promise<void>;
  dismissMessage(id: number): void;
}

const runtime = { job: null as JobHandle<EditJobResult> | null, messageId: 0, lastQuery: null as string | null, initialised: false };

const describeError = (e: unknown) => (e instanceof Error ? e.message : String(e));

export const useMemorisationPage = create<MemorisationPageState>()((set, get) => {
  const message = (kind: PageMessage['kind'], text: string) =>
    set((s) => ({ messages: [...s.messages.slice(-4), { id: ++runtime.messageId, kind, text }] }));
  const writeUrl = () => window.history.replaceState(null, '', routeHash('memorisation', memorisationSettingsToQuery(get().settings)));
  const refreshStored = async () => {
    try {
      set({ stored: await listCheckpoints() });
    } catch {
      // No IndexedDB (private mode): the list stays empty.
    }
  };
  /** A checkpoint fits the experiment when it is a model of the experiment's base task. */
  const takeCheckpoint = (checkpoint: EditCheckpoint) => {
    const matching = (Object.keys(EXPERIMENTS) as ExperimentId[]).find((id) => EXPERIMENTS[id].baseTask === checkpoint.summary.task);
    if (!matching) {
      message(
        'error',
        `That checkpoint is a model of “${checkpoint.summary.task}”; the experiments use the models of cnn-mnist and transformer-modular.`,
      );
      return;
    }
    if (matching !== get().settings.experiment) get().setExperiment(matching);
    set((s) => ({ checkpoint, settings: { ...s.settings, model: 'checkpoint' } }));
    writeUrl();
  };
  const { download, ...checkpoints } = checkpointActions({
    current: () => get().checkpoint,
    stored: () => get().stored,
    refreshStored,
    message,
    adopt: (bytes, from, known) => takeCheckpoint({ bytes, summary: known ?? readCheckpoint(bytes).summary, from }),
    keptName: (c) => `${describeCheckpoint(c.summary)} (${get().settings.experiment})`,
    keptMessage: 'The model is kept in this browser; it is listed under “Kept in this browser”.',
    uploadError: 'That file is not a checkpoint the lab can use',
  });

  return {
    settings: defaultSettings(),
    urlErrors: [],
    messages: [],
    job: null,
    result: null,
    checkpoint: null,
    stored: [],

    init(query) {
      if (query !== runtime.lastQuery && !(query === '' && runtime.initialised)) {
        const fromUrl = memorisationSettingsFromQuery(query);
        set({ settings: fromUrl.settings, urlErrors: fromUrl.errors });
        if (fromUrl.errors.length > 0)
          message('warning', 'The link held invalid memorisation settings; the page shows its defaults instead.');
      }
      runtime.initialised = true;
      runtime.lastQuery = query;
      writeUrl();
      void refreshStored();
    },

    setSettings(partial) {
      set((s) => {
        const settings = { ...s.settings, ...partial };
        if (!settings.rhos.includes(settings.rho)) settings.rho = settings.rhos[settings.rhos.length - 1];
        return { settings };
      });
      writeUrl();
    },

    setExperiment(experiment) {
      const d = defaultSettings(experiment);
      const keep = get().checkpoint?.summary.task === EXPERIMENTS[experiment].baseTask ? get().checkpoint : null;
      set((s) => ({
        settings: { ...s.settings, experiment, steps: d.steps, layers: d.layers, model: keep ? s.settings.model : 'train' },
        checkpoint: keep,
        result: s.result?.experiment === experiment ? s.result : null,
      }));
      writeUrl();
    },

    toggleLayer(layer) {
      const { layers } = get().settings;
      const next = layers.includes(layer) ? layers.filter((l) => l !== layer) : [...layers, layer].sort((a, b) => a - b);
      if (next.length > 0) get().setSettings({ layers: next });
    },

    async run() {
      if (runtime.job) return;
      const { settings, checkpoint } = get();
      if (settings.model === 'checkpoint' && !checkpoint) {
        message('error', 'Choose a checkpoint first (kept in this browser or a file), or train the model here.');
        return;
      }
      const started = performance.now();
      set({ job: { status: 'running', progress: null, elapsedMs: null, error: null } });
      const handle = startJob<EditJobResult>(
        'edit',
        {
          experiment: settings.experiment,
          model:
            settings.model === 'checkpoint' && checkpoint
              ? { kind: 'checkpoint', bytes: checkpoint.bytes }
              : { kind: 'train', steps: settings.steps },
          layers: settings.layers,
          rhos: settings.rhos,
          seed: settings.seed,
        },
        (progress) => set((s) => ({ job: s.job ? { ...s.job, progress } : s.job })),
      );
      runtime.job = handle;
      try {
        const result = await handle.result;
        set((s) => ({ job: { ...(s.job as EditJobView), status: 'done', elapsedMs: performance.now() - started }, result }));
        if (result.checkpoint) {
          const { summary } = readCheckpoint(result.checkpoint);
          set({
            checkpoint: {
              bytes: result.checkpoint,
              summary,
              from: `trained on this page (${result.model.steps} steps of ${EXPERIMENTS[result.experiment].training.optimizer} on the ${result.experiment} data)`,
            },
          });
        }
      } catch (e) {
        const cancelled = e instanceof JobFailure && e.cancelled;
        const error = cancelled ? null : describeError(e);
        set((s) => ({
          job: { ...(s.job as EditJobView), status: cancelled ? 'cancelled' : 'failed', elapsedMs: performance.now() - started, error },
        }));
        if (error) message('error', `The edit failed: ${error}`);
      } finally {
        runtime.job = null;
      }
    },

    cancel() {
      runtime.job?.cancel();
    },

    exportJson() {
      const result = get().result;
      if (!result) return;
      const { checkpoint: _bytes, ...rest } = result;
      void _bytes;
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      downloadText(
        `kfac-lab-edit-${result.experiment}-${stamp}.json`,
        `${JSON.stringify({ settings: get().settings, ...rest }, null, 1)}\n`,
        'application/json',
      );
    },

    ...checkpoints,
    downloadModel: download,

    dismissMessage: (id) => set((s) => ({ messages: s.messages.filter((m) => m.id !== id) })),
  };
});

/** What the e2e test reads (docs/architecture.md, "Testing": numbers through a hook, not pixels). */
export interface MemorisationTestHook {
  readonly settings: MemorisationSettings;
  readonly job: EditJobView | null;
  readonly messages: PageMessage[];
  /** The result without the checkpoint's bytes and the per-layer grids. */
  result(): {
    device: string;
    experiment: ExperimentId;
    baseline: EditJobResult['sweep']['baseline'];
    rhos: number[];
    rows: EditJobResult['sweep']['rows'];
    layers: { name: string; dOut: number; dIn: number; energyShare: number[] }[];
    trainedCheckpoint: boolean;
  } | null;
}

declare global {
  interface Window {
    __memorisation?: MemorisationTestHook;
  }
}

if (typeof window !== 'undefined') {
  window.__memorisation = {
    get settings() {
      return useMemorisationPage.getState().settings;
    },
    get job() {
      return useMemorisationPage.getState().job;
    },
    get messages() {
      return useMemorisationPage.getState().messages;
    },
    result() {
      const r = useMemorisationPage.getState().result;
      if (!r) return null;
      return {
        device: r.device,
        experiment: r.experiment,
        baseline: r.sweep.baseline,
        rhos: r.sweep.rhos,
        rows: r.sweep.rows,
        layers: r.sweep.layers.map((l) => ({ name: l.name, dOut: l.dOut, dIn: l.dIn, energyShare: l.energyShare })),
        trainedCheckpoint: r.checkpoint !== null,
      };
    },
  };
}
