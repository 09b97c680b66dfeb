// Per run: "step n / N" with a progress bar, steps per second, ETA, the target badge and, when the
// run stopped early, its message (local to the run; the others go on).
import { useLabUi } from '../lab/lab-store.ts';
import { runStyle } from '../charts/palette.ts';

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

export function RunProgressList() {
  const runs = useLabUi((s) => s.runs);
  const progress = useLabUi((s) => s.progress);
  const resolved = useLabUi((s) => s.resolved);
  const activeMs = useLabUi((s) => s.activeMs);
  const status = useLabUi((s) => s.status);
  const restored = useLabUi((s) => s.restored);
  const analyseRun = useLabUi((s) => s.analyseRun);
  if (runs.length === 0 || !resolved) return null;
  // The worker holds the runs' models while paused and after the end (not after a reload).
  const modelsAvailable = restored === null && (status === 'paused' || status === 'done');
  const total = resolved.steps;
  return (
    <ul className="run-progress" aria-label="Progress of each run" data-testid="run-progress">
      {runs.map((run, i) => {
        const p = progress[i];
        if (!p) return null;
        const live = !p.ended && (status === 'running' || status === 'paused');
        const pagePerStep = p.stepsDone > 0 ? activeMs / p.stepsDone : NaN;
        const eta = live ? (total - p.stepsDone) * pagePerStep : NaN;
        const stepsPerSecond = p.elapsedMs > 0 ? (p.stepsDone * 1000) / p.elapsedMs : null;
        const style = runStyle(i);
        return (
          <li key={i} data-testid={`run-${i}`} data-error={p.error ? 'true' : 'false'}>
            <div className="run-progress-head">
              <span className="swatch" style={{ background: style.color }} aria-hidden="true" />
              <strong>{run.label}</strong>
              <span>
                step {p.stepsDone} / {total}
              </span>
              {stepsPerSecond !== null && <span>{stepsPerSecond.toFixed(1)} steps/s</span>}
              {live && <span>ETA {formatDuration(eta)}</span>}
              {p.targetStep !== null && <span className="badge badge-ok">target at step {p.targetStep}</span>}
            </div>
            <div
              role="progressbar"
              aria-label={`${run.label} progress`}
              aria-valuemin={0}
              aria-valuemax={total}
              aria-valuenow={p.stepsDone}
              aria-valuetext={`step ${p.stepsDone} of ${total}`}
              className="bar"
            >
              <div className="bar-fill" style={{ width: `${(100 * p.stepsDone) / total}%`, background: style.color }} />
            </div>
            {p.error && (
              <p className="notice notice-fail run-error" role="alert">
                Stopped: {p.error}
              </p>
            )}
            {modelsAvailable && !p.error && p.stepsDone > 0 && (
              <button type="button" className="link-button" data-testid={`analyse-run-${i}`} onClick={() => analyseRun(i)}>
                Analyse this model’s curvature
              </button>
            )}
          </li>
        );
      })}
    </ul>
  );
}
