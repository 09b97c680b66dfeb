// Which K-FAC run and layer the curvature panel shows.
import { useId } from 'react';
import { useLabUi } from '../lab/lab-store.ts';

export function CurvatureSelector() {
  const uid = useId();
  const runs = useLabUi((s) => s.runs);
  const kfacLayers = useLabUi((s) => s.kfacLayers);
  const selection = useLabUi((s) => s.curvatureSelection);
  const select = useLabUi((s) => s.selectCurvature);
  const kfacRuns = Object.keys(kfacLayers).map(Number);
  if (kfacRuns.length === 0) {
    return (
      <p className="muted">
        The curvature panel shows the Kronecker factors of a K-FAC run: add K-FAC-expand or K-FAC-reduce to the experiment.
      </p>
    );
  }
  const run = selection?.run ?? kfacRuns[0];
  const layers = kfacLayers[run] ?? [];
  const layer = selection?.layer ?? layers[0] ?? '';
  return (
    <div className="field-row curvature-selector">
      <label htmlFor={`${uid}-run`}>Run</label>
      <select id={`${uid}-run`} value={run} onChange={(e) => select(Number(e.target.value), null)} data-testid="curvature-run">
        {kfacRuns.map((i) => (
          <option key={i} value={i}>
            {runs[i]?.label ?? `run ${i + 1}`}
          </option>
        ))}
      </select>
      <label htmlFor={`${uid}-layer`}>Layer</label>
      <select id={`${uid}-layer`} value={layer} onChange={(e) => select(run, e.target.value)} data-testid="curvature-layer">
        {layers.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
    </div>
  );
}
