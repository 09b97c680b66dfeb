// The curvature tools (docs/curvature-tools.md §0): each is a typed engine function of a parsed case
// plus a registry entry, `{ name, about, fields, run }`, that the command `npm run curvature --
// <tool> case.json` (src/cli/curvature.ts) and any other caller reach by name. A new tool adds its
// folder under src/engine/tools/ and one line to TOOLS below.
import { eigenTool } from './eigen/eigen.ts';
import { marglikTool } from './marglik/marglik.ts';
import { editTool } from './edit/edit.ts';
import { pruneTool } from './prune/prune-tool.ts';
import { influenceTool } from './influence/influence-tool.ts';
import type { CurvatureTool } from './tool.ts';

export type { CurvatureTool, ToolOutput, ToolRunOptions } from './tool.ts';

/** Every tool, in the order `--help` lists them. */
export const TOOLS: readonly CurvatureTool[] = [eigenTool, marglikTool, editTool, pruneTool, influenceTool];

/** The tool of that name, or undefined. */
export function findTool(name: string): CurvatureTool | undefined {
  return TOOLS.find((t) => t.name === name);
}
