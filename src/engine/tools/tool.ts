// What a curvature tool is (docs/curvature-tools.md §0): a typed engine function of a parsed case,
// wrapped as `{ name, about, fields, run }` for the registry (registry.ts) and the command.
import type { Backend } from '../backend/backend.ts';
import { openCaseBackend, type FactorsCase, type FieldDoc } from './case.ts';

/** One entry of `layers` in a tool's output: `index` is the linear layer's position in the case's `layers`. */
export interface ToolLayerOutput {
  index: number;
}

/** What every tool returns: plain JSON-able data (nested arrays for matrices, eigenvectors as columns). */
export interface ToolOutput {
  layers: ToolLayerOutput[];
}

export interface ToolRunOptions {
  /**
   * Run on this backend instead of opening the one the case names (the caller keeps ownership).
   * Tests pass their shared backends; the command lets the tool open and close its own.
   */
  backend?: Backend;
}

export interface CurvatureTool {
  /** The command's tool argument, e.g. "eigen". */
  readonly name: string;
  /** One line for `--help`. */
  readonly about: string;
  /** The tool's own case fields (beyond the shared ones of CASE_FIELDS in case.ts). */
  readonly fields: Readonly<Record<string, FieldDoc>>;
  /** Validate the case JSON (throws CaseError naming the field), compute, and return JSON-able data. */
  run(caseJson: unknown, options?: ToolRunOptions): Promise<ToolOutput>;
}

/** A tool from its two typed halves: parse (case JSON → typed case) and compute (typed case → output). */
export function defineTool<C extends FactorsCase, O extends ToolOutput>(spec: {
  name: string;
  about: string;
  fields: Readonly<Record<string, FieldDoc>>;
  parse(json: unknown): C;
  compute(c: C, backend: Backend): Promise<O>;
}): CurvatureTool {
  return {
    name: spec.name,
    about: spec.about,
    fields: spec.fields,
    async run(caseJson, options = {}) {
      const c = spec.parse(caseJson);
      if (options.backend) return spec.compute(c, options.backend);
      const backend = await openCaseBackend(c);
      try {
        return await spec.compute(c, backend);
      } finally {
        backend.destroy();
      }
    },
  };
}
