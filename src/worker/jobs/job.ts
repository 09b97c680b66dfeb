// What a worker job is (docs/architecture.md): a kind with a config parser and a run
// function. The runner (job-runner.ts) validates the config with parseConfig before anything runs,
// hands run() the worker's backend, an AbortSignal for cancel and a progress callback, and turns the
// outcome into exactly one 'job-result' or 'job-error' event (src/worker/protocol.ts).
import type { Backend } from '../../engine/backend/backend.ts';
import type { JobKind, JobProgress } from '../protocol.ts';

export interface JobContext {
  backend: Backend;
  /** Aborted by 'job-cancel': check it between units of work (throwIfCancelled) and pass it on. */
  signal: AbortSignal;
  /** Report progress; the runner throttles what reaches the page. */
  progress(progress: JobProgress): void;
}

export interface JobOutput<R> {
  result: R;
  /** Buffers inside `result` to transfer rather than copy. */
  transfer?: Transferable[];
}

export interface JobDefinition<C = unknown, R = unknown> {
  readonly kind: JobKind;
  /** One line: what the job computes. */
  readonly about: string;
  /** The job's config, checked field by field; throws a JobConfigError naming every problem. */
  parseConfig(value: unknown): C;
  run(config: C, context: JobContext): Promise<JobOutput<R>>;
}

/** A config the job refuses; each message names its field. */
export class JobConfigError extends Error {
  constructor(readonly messages: readonly string[]) {
    super(messages.join('; '));
    this.name = 'JobConfigError';
  }
}

/** Thrown by a job that noticed its signal was aborted. */
export class JobCancelledError extends Error {
  constructor() {
    super('the job was cancelled');
    this.name = 'JobCancelledError';
  }
}

export function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new JobCancelledError();
}

/**
 * For `.catch(rethrowCancelled(signal))` around engine work: whatever the engine threw when the
 * signal was aborted becomes a JobCancelledError (so the page sees a cancel, not an error).
 */
export function rethrowCancelled(signal: AbortSignal): (e: unknown) => never {
  return (e: unknown) => {
    throw signal.aborted ? new JobCancelledError() : e;
  };
}

// ---- config readers (each adds a message and returns undefined on a bad value) ----------------------

export type ConfigProblems = string[];

export function configRecord(value: unknown, kind: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new JobConfigError([
      `${kind}: expected a config object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
    ]);
  return value as Record<string, unknown>;
}

/** Names in `config` that the job does not know (a typo must not silently take a default). */
export function unknownFields(config: Record<string, unknown>, known: readonly string[], kind: string, problems: ConfigProblems): void {
  for (const name of Object.keys(config)) {
    if (!known.includes(name)) problems.push(`${kind}.${name.slice(0, 40)}: unknown field (known: ${known.join(', ')})`);
  }
}

export function readInteger(
  value: unknown,
  where: string,
  min: number,
  max: number,
  problems: ConfigProblems,
  fallback?: number,
): number | undefined {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${where}: expected a whole number from ${min} to ${max}, got ${describeValue(value)}`);
    return undefined;
  }
  return value;
}

/** A finite number in [min, max]; `fallback` when absent. */
export function readNumber(
  value: unknown,
  where: string,
  min: number,
  max: number,
  problems: ConfigProblems,
  fallback: number,
): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    problems.push(`${where}: expected a number from ${min} to ${max}, got ${describeValue(value)}`);
    return undefined;
  }
  return value;
}

export function readChoice<T extends string>(
  value: unknown,
  where: string,
  choices: readonly T[],
  problems: ConfigProblems,
  fallback?: T,
): T | undefined {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    problems.push(`${where}: expected one of ${choices.join(', ')}, got ${describeValue(value)}`);
    return undefined;
  }
  return value as T;
}

export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? 'an array' : typeof value;
}
