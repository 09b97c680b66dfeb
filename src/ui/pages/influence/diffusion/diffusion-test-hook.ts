// window.__lab.diffusion: the diffusion section's state in numbers for the e2e tests (src/ui/test-hook.ts
// mounts it), plus its actions.
import type { DiffusionMethod } from '../../../../worker/jobs/diffusion-job.ts';
import { ranked, scoresFor } from './diffusion-figures.ts';
import { useDiffusion, type DiffusionJobView, type DiffusionSettings } from './diffusion-store.ts';

export interface DiffusionResultView {
  device: string;
  points: number;
  samples: number;
  queries: number;
  trained: boolean;
  finalLoss: number | null;
  damping: number;
  queryLoss: number[];
  methods: { method: DiffusionMethod; scores: number; finite: boolean; topHelpful: number[]; topHarmful: number[] }[];
}

export interface DiffusionTestHook {
  readonly settings: DiffusionSettings;
  readonly job: DiffusionJobView | null;
  readonly method: DiffusionMethod;
  readonly query: number;
  result(): DiffusionResultView | null;
  setSettings(partial: Partial<DiffusionSettings>): void;
  run(): Promise<void>;
  setMethod(method: DiffusionMethod): void;
  setQuery(query: number): void;
}

export const diffusionTestHook: DiffusionTestHook = {
  get settings() {
    return useDiffusion.getState().settings;
  },
  get job() {
    return useDiffusion.getState().job;
  },
  get method() {
    return useDiffusion.getState().method;
  },
  get query() {
    return useDiffusion.getState().query;
  },
  result() {
    const { result, query } = useDiffusion.getState();
    if (!result) return null;
    return {
      device: result.device,
      points: result.points.length / 2,
      samples: result.samples.length / 2,
      queries: result.queries,
      trained: result.trained,
      finalLoss: result.losses.length > 0 ? result.losses[result.losses.length - 1] : null,
      damping: result.influence.damping,
      queryLoss: Array.from(result.influence.queryLoss),
      methods: result.influence.methods.map((m) => {
        const scores = scoresFor(result, m.method, query)!;
        const lists = ranked(result, scores, 5);
        return {
          method: m.method,
          scores: m.scores.length,
          finite: Array.from(m.scores).every(Number.isFinite),
          topHelpful: lists.helpful.map((p) => p.index),
          topHarmful: lists.harmful.map((p) => p.index),
        };
      }),
    };
  },
  setSettings: (partial) => useDiffusion.getState().setSettings(partial),
  run: () => useDiffusion.getState().run(),
  setMethod: (method) => useDiffusion.getState().setMethod(method),
  setQuery: (query) => useDiffusion.getState().setQuery(query),
};
