// The state of a page that runs one worker job (the Thermodynamic and NGD pages): its settings
// (mirrored in the URL), the job's progress, its result and the page's messages. The page never
// computes anything itself: the worker's job does (src/worker/jobs/).
import { create, type StoreApi, type UseBoundStore } from 'zustand';
import type { JobKind } from '../../../worker/protocol.ts';
import { JobFailure, startJob, type JobHandle } from '../../jobs/job-client.ts';
import { downloadText } from '../../results/exports.ts';
import { routeHash, type PageId } from '../../router.ts';
import type { JobView, PageMessage } from '../curvature/curvature-store.ts';

export interface JobPageState<S, R> {
  settings: S;
  urlErrors: string[];
  messages: PageMessage[];
  job: JobView | null;
  result: R | null;
  /** The chart library has loaded. */
  chartsReady: boolean;
  /** Counts the times settings were read from a link: free-text inputs remount (key) to show them. */
  loadedFromUrl: number;
  init(query: string): void;
  setSettings(settings: Partial<S>): void;
  run(): Promise<void>;
  cancel(): void;
  /** Download the result as JSON. */
  exportJson(): void;
  dismissMessage(id: number): void;
}

export interface JobPageOptions<S, R> {
  page: PageId;
  kind: JobKind;
  defaults: S;
  fromQuery(query: string): { settings: S; errors: string[] };
  toQuery(settings: S): string;
  toConfig(settings: S): unknown;
  /** What the job computes, in words, for messages ("The thermodynamic experiment"). */
  what: string;
  /** The exported file's name. */
  fileName(result: R): string;
}

export function createJobPageStore<S, R>(options: JobPageOptions<S, R>): UseBoundStore<StoreApi<JobPageState<S, R>>> {
  const runtime = { job: null as JobHandle<unknown> | null, messageId: 0, lastQuery: null as string | null, initialised: false };
  return create<JobPageState<S, R>>()((set, get) => {
    const message = (kind: PageMessage['kind'], text: string) =>
      set((s) => ({ messages: [...s.messages.slice(-4), { id: ++runtime.messageId, kind, text }] }));
    const writeUrl = (settings: S) => window.history.replaceState(null, '', routeHash(options.page, options.toQuery(settings)));
    return {
      settings: options.defaults,
      urlErrors: [],
      messages: [],
      job: null,
      result: null,
      chartsReady: false,
      loadedFromUrl: 0,

      init(query) {
        if (query !== runtime.lastQuery && !(query === '' && runtime.initialised)) {
          const parsed = options.fromQuery(query);
          set((st) => ({ settings: parsed.settings, urlErrors: parsed.errors, loadedFromUrl: st.loadedFromUrl + 1 }));
          if (parsed.errors.length > 0) message('warning', 'The link held invalid settings; the page shows its defaults for them instead.');
        }
        runtime.initialised = true;
        runtime.lastQuery = query;
      },

      setSettings(partial) {
        const settings = { ...get().settings, ...partial };
        set({ settings });
        writeUrl(settings);
      },

      async run() {
        if (runtime.job) return;
        const started = performance.now();
        set({ job: { status: 'running', progress: null, elapsedMs: null, error: null, startedAt: started, endedAt: null } });
        const handle = startJob<R>(options.kind, options.toConfig(get().settings), (progress) =>
          set((s) => ({ job: s.job && { ...s.job, progress } })),
        );
        runtime.job = handle as JobHandle<unknown>;
        try {
          const result = await handle.result;
          const endedAt = performance.now();
          set((s) => ({ result, job: s.job && { ...s.job, status: 'done', elapsedMs: endedAt - started, endedAt } }));
        } catch (e) {
          const cancelled = e instanceof JobFailure && e.cancelled;
          const error = cancelled ? null : e instanceof Error ? e.message : String(e);
          const endedAt = performance.now();
          set((s) => ({
            job: s.job && { ...s.job, status: cancelled ? 'cancelled' : 'failed', elapsedMs: endedAt - started, endedAt, error },
          }));
          if (error) message('error', `${options.what} failed: ${error}`);
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
        downloadText(options.fileName(result), JSON.stringify({ settings: get().settings, result }, null, 2), 'application/json');
      },

      dismissMessage(id) {
        set((s) => ({ messages: s.messages.filter((m) => m.id !== id) }));
      },
    };
  });
}

/** Query helpers: `key=1,2,3` lists and numbers with a range, each bad value an error message and the default. */
export function queryNumber(
  params: URLSearchParams,
  key: string,
  fallback: number,
  min: number,
  max: number,
  errors: string[],
  integer = true,
): number {
  const raw = params.get(key);
  if (raw === null) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
    errors.push(
      `${key}: expected ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got ${JSON.stringify(raw.slice(0, 40))}`,
    );
    return fallback;
  }
  return v;
}

export function queryList(
  params: URLSearchParams,
  key: string,
  fallback: number[],
  min: number,
  max: number,
  maxLength: number,
  errors: string[],
): number[] {
  const raw = params.get(key);
  if (raw === null) return fallback;
  const parts = raw.split(',').map(Number);
  if (parts.length === 0 || parts.length > maxLength || parts.some((v) => !Number.isInteger(v) || v < min || v > max)) {
    errors.push(
      `${key}: expected 1 to ${maxLength} whole numbers from ${min} to ${max}, comma-separated, got ${JSON.stringify(raw.slice(0, 40))}`,
    );
    return fallback;
  }
  return parts;
}

export function queryChoice<T extends string>(
  params: URLSearchParams,
  key: string,
  choices: readonly T[],
  fallback: T,
  errors: string[],
): T {
  const raw = params.get(key);
  if (raw === null) return fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    errors.push(`${key}: expected one of ${choices.join(', ')}, got ${JSON.stringify(raw.slice(0, 40))}`);
    return fallback;
  }
  return raw as T;
}
