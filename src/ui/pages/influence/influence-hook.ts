// window.__lab.influence: the Influence page's state in numbers for the e2e tests (docs/architecture.md,
// "Testing"), installed when the page's chunk loads (the shell's hook, src/ui/test-hook.ts, is
// created at start-up; this page adds its part without the shell importing the page).
import type { InfluenceMethod } from '../../../engine/tools/influence/scores.ts';
import { useInfluencePage, type JobView, type PageMessage, type QueryChoice } from './influence-store.ts';
import type { InfluenceSettings } from './influence-url.ts';

export interface InfluenceTestHook {
  readonly settings: InfluenceSettings;
  readonly urlErrors: string[];
  readonly messages: PageMessage[];
  readonly query: QueryChoice;
  readonly galleryCount: number;
  readonly scoresJob: JobView | null;
  readonly ldsJob: JobView | null;
  readonly hasModel: boolean;
  /** The last scores: the query and, per method, the top images' indices and scores. */
  scores(): {
    query: { kind: string; index: number; label: number; predicted: number; loss: number };
    examples: number;
    methods: {
      method: InfluenceMethod;
      helpful: { index: number; score: number }[];
      harmful: { index: number; score: number }[];
      scoreCount: number;
    }[];
  } | null;
  lds(): {
    methods: { method: InfluenceMethod; mean: number; spread: number }[];
    ceiling: number | null;
    subsets: number;
    seeds: number;
  } | null;
  setSettings(partial: Partial<InfluenceSettings>): void;
  run(): Promise<void>;
  runLds(): Promise<void>;
}

declare module '../../test-hook.ts' {
  interface LabTestHook {
    influence?: InfluenceTestHook;
  }
}

const hook: InfluenceTestHook = {
  get settings() {
    return useInfluencePage.getState().settings;
  },
  get urlErrors() {
    return useInfluencePage.getState().urlErrors;
  },
  get messages() {
    return useInfluencePage.getState().messages;
  },
  get query() {
    return useInfluencePage.getState().queryChoice;
  },
  get galleryCount() {
    return useInfluencePage.getState().gallery.length;
  },
  get scoresJob() {
    return useInfluencePage.getState().scoresJob;
  },
  get ldsJob() {
    return useInfluencePage.getState().ldsJob;
  },
  get hasModel() {
    return useInfluencePage.getState().model !== null;
  },
  scores() {
    const r = useInfluencePage.getState().scores;
    if (!r) return null;
    const ranked = (xs: { index: number; score: number }[]) => xs.map(({ index, score }) => ({ index, score }));
    return {
      query: { kind: r.query.kind, index: r.query.index, label: r.query.label, predicted: r.query.predicted, loss: r.query.loss },
      examples: r.examples,
      methods: r.methods.map((m) => ({
        method: m.method,
        helpful: ranked(m.helpful),
        harmful: ranked(m.harmful),
        scoreCount: m.scores.length,
      })),
    };
  },
  lds() {
    const r = useInfluencePage.getState().lds;
    if (!r) return null;
    return {
      methods: r.methods.map(({ method, mean, spread }) => ({ method, mean, spread })),
      ceiling: r.ceiling?.mean ?? null,
      subsets: r.subsets,
      seeds: r.seeds,
    };
  },
  setSettings: (partial) => useInfluencePage.getState().setSettings(partial),
  run: () => useInfluencePage.getState().run(),
  runLds: () => useInfluencePage.getState().runLds(),
};

/** Adds `influence` to window.__lab when the shell installed it. */
export function installInfluenceHook(): void {
  if (typeof window !== 'undefined' && window.__lab)
    Object.defineProperty(window.__lab, 'influence', { value: hook, configurable: true, enumerable: true });
}
