// K-FAC's KL clip, per K-FAC run of the race: a badge that says whether the clip binds now (ν < 1:
// the clip, not the learning rate, sets the step), ν of the latest step, how often it bound, and a
// sparkline of ν over the steps (log axis, 1 at the top). Reads the live metric series (outside
// React) at the charts' slow summary rate.
import { metricSeries } from '../../lab/lab-store.ts';
import { useSeriesTick } from '../../charts/use-plot.ts';
import { runStyle } from '../../charts/palette.ts';
import './kl-clip.css';
import { klClipSummary, klClipText, formatNu, sparklinePoints } from './kl-clip.ts';

const WIDTH = 160;
const HEIGHT = 28;
const FLOOR = 1e-3;

export function KlClipPanel() {
  useSeriesTick(metricSeries);
  const rows = metricSeries.runs.flatMap((run, i) => {
    const { step, scale } = metricSeries.klSeries(i);
    const summary = klClipSummary(step, scale);
    return summary ? [{ run, i, step, scale, summary }] : [];
  });
  if (rows.length === 0) return null;
  return (
    <div className="kl-clip" data-testid="kl-clip">
      <h3>K-FAC’s step scale ν (KL clip)</h3>
      <p className="muted">
        ν = min(1, √(κ / Σ|η² Δ⊙V|)) scales every K-FAC update. While ν &lt; 1 the KL clip κ, not the learning rate, sets the step size, so
        changing the learning rate changes nothing: tune κ (klClip) with it, or turn the clip off (0) and use a warm-up.
      </p>
      <ul>
        {rows.map(({ run, i, step, scale, summary }) => (
          <li key={i} data-testid={`kl-clip-run-${i}`}>
            <span className="kl-clip-swatch" style={{ background: runStyle(i).color }} aria-hidden="true" />
            <span className="kl-clip-label">{run.label}</span>
            <span className={summary.bindsNow ? 'kl-clip-badge binds' : 'kl-clip-badge free'} data-testid={`kl-clip-badge-${i}`}>
              {summary.bindsNow ? `clip binds: ν ${formatNu(summary.last)}` : 'learning rate sets the step'}
            </span>
            <svg
              className="kl-clip-spark"
              width={WIDTH}
              height={HEIGHT}
              viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
              role="img"
              aria-label={`ν per step of ${run.label}, log scale from ${FLOOR} to 1`}
            >
              <line x1={0} y1={0.5} x2={WIDTH} y2={0.5} className="kl-clip-one" />
              <polyline
                points={sparklinePoints(step, scale, { width: WIDTH, height: HEIGHT, floor: FLOOR })}
                fill="none"
                stroke={runStyle(i).color}
              />
            </svg>
            <span className="kl-clip-text">{klClipText(summary)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
