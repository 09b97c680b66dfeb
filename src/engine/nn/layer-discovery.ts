// The K-FAC layers of a model, known before the first training step: run one forward pass with the
// curvature hook (curvature-hook.ts) on and record who reports, in capture order, each once — the
// order in which the K-FAC optimizer meets them. The lab lists them when an experiment starts (the
// curvature panel's layer picker), also when it starts paused.
import { collectScope } from '../tensor.ts';
import { withCurvatureCapture } from './curvature-hook.ts';

/** Layer paths reported during `forward()`, each once, in capture order. The pass's tensors are released. */
export function discoverCurvatureLayers(forward: () => unknown): string[] {
  const names: string[] = [];
  const { created } = collectScope(() =>
    withCurvatureCapture({ capture: (c) => void (names.includes(c.layer.name) || names.push(c.layer.name)) }, () => forward()),
  );
  for (const t of created) t.dispose();
  return names;
}
