// The K-FAC layer names of a task's model, known before the first training step. The optimizer
// learns its layers from the first forward pass with curvature capture; the lab wants them when an
// experiment starts (for the curvature panel's layer picker), also when it starts paused. So we run
// that forward pass once on two examples, on a throwaway CPU backend, and record who reports.
import { CpuBackend } from '../engine/backend/cpu/cpu-backend.ts';
import { withCurvatureCapture } from '../engine/nn/curvature-hook.ts';
import { loadTask, type TaskId } from '../engine/lab/tasks.ts';
import { collectScope } from '../engine/tensor.ts';

/** Layer paths in capture order, each once: the order KfacOptimizer.layerNames will have. */
export async function discoverKfacLayers(task: TaskId, seed: number): Promise<string[]> {
  const loaded = await loadTask(task);
  const backend = new CpuBackend();
  const placed = loaded.place(backend);
  const model = placed.buildModel(seed);
  const batch = placed.batch(
    model,
    Int32Array.from({ length: Math.min(2, loaded.trainSize) }, (_, i) => i),
  );
  const names: string[] = [];
  try {
    const { created } = collectScope(() =>
      withCurvatureCapture({ capture: (c) => void (names.includes(c.layer.name) || names.push(c.layer.name)) }, () => batch.forward()),
    );
    for (const t of created) t.dispose();
  } finally {
    batch.dispose();
    model.dispose();
    placed.dispose();
    backend.destroy();
  }
  return names;
}
