// The lab's tasks: a model, its data, how one training batch and the loss are formed, and a fixed
// validation evaluation. Each task is one definition in src/engine/lab/tasks/ that holds every fact
// about it (see tasks/definition.ts); this file gathers them, and the task ids derive from them.
// Host data is loaded once per task (load), placed on a backend once per experiment (place:
// validation and full-graph tensors shared by every run), and each run builds its own model from
// the experiment seed. Batches are chosen by example indices so that a runner can hand every
// optimizer the same BatchSampler stream. Sizes are small enough to train live in a browser (and
// on the CPU backend in tests).
import { mlpSpirals } from './tasks/mlp-spirals.ts';
import { cnnMnist, mlpMnist, vitMnist } from './tasks/mnist.ts';
import { gcnGraph, gcnNode } from './tasks/gcn.ts';
import { transformerModular } from './tasks/transformer-modular.ts';
import type { LoadedTask, TaskDefinition } from './tasks/definition.ts';

export type {
  KfacPreset,
  LoadedTask,
  PlacedTask,
  TaskDefinition,
  TaskPreset,
  TaskSetting,
  TaskSharing,
  TaskTeaching,
  TrainBatch,
} from './tasks/definition.ts';

/** The definitions in the order the task picker and the CLI list them. */
const DEFINITIONS = [mlpSpirals, mlpMnist, cnnMnist, vitMnist, gcnNode, gcnGraph, transformerModular] as const;

export type TaskId = (typeof DEFINITIONS)[number]['id'];

export const TASKS: Readonly<Record<TaskId, TaskDefinition>> = Object.fromEntries(DEFINITIONS.map((d) => [d.id, d])) as Record<
  TaskId,
  TaskDefinition
>;

export const TASK_IDS: readonly TaskId[] = DEFINITIONS.map((d) => d.id);

export function isTaskId(id: unknown): id is TaskId {
  return typeof id === 'string' && Object.prototype.hasOwnProperty.call(TASKS, id);
}

const loaded = new Map<TaskId, Promise<LoadedTask>>();

/** The task's host data, loaded on first use and cached (a failed load is retried next time). */
export function loadTask(id: TaskId): Promise<LoadedTask> {
  let promise = loaded.get(id);
  if (!promise) {
    promise = TASKS[id].load();
    loaded.set(id, promise);
    promise.catch(() => loaded.delete(id));
  }
  return promise;
}
