// The settings shared by the metric charts: x-axis unit, log-y and smoothing.

import { useId } from 'react';
import type { XAxisMode } from './chart-traces.ts';
import { MAX_SMOOTHING } from './smoothing.ts';
import './charts.css';

export interface ChartSettings {
  xAxis: XAxisMode;
  logY: boolean;
  /** Debiased-EMA weight, 0..0.99. */
  smoothing: number;
}

export const DEFAULT_CHART_SETTINGS: ChartSettings = { xAxis: 'step', logY: false, smoothing: 0.6 };

export interface ChartControlsProps {
  value: ChartSettings;
  onChange: (next: ChartSettings) => void;
  disabled?: boolean;
}

export function ChartControls({ value, onChange, disabled = false }: ChartControlsProps) {
  const uid = useId();
  const smoothingId = `${uid}-smoothing`;
  return (
    <fieldset className="chart-controls" disabled={disabled}>
      <legend>Chart settings</legend>
      <fieldset className="chart-controls-group">
        <legend>x-axis</legend>
        {(
          [
            ['step', 'steps'],
            ['time', 'wall-clock'],
          ] as const
        ).map(([mode, label]) => (
          <label key={mode} className="chart-choice">
            <input
              type="radio"
              name={`${uid}-x-axis`}
              value={mode}
              checked={value.xAxis === mode}
              onChange={() => onChange({ ...value, xAxis: mode })}
            />
            {label}
          </label>
        ))}
      </fieldset>
      <label className="chart-choice">
        <input type="checkbox" checked={value.logY} onChange={(e) => onChange({ ...value, logY: e.target.checked })} />
        log-y
      </label>
      <div className="chart-smoothing">
        <label htmlFor={smoothingId}>Smoothing</label>
        <input
          id={smoothingId}
          type="range"
          min={0}
          max={MAX_SMOOTHING}
          step={0.01}
          value={value.smoothing}
          aria-valuetext={value.smoothing === 0 ? '0, off' : value.smoothing.toFixed(2)}
          onChange={(e) => onChange({ ...value, smoothing: Number(e.target.value) })}
        />
        <output htmlFor={smoothingId}>{value.smoothing.toFixed(2)}</output>
      </div>
    </fieldset>
  );
}
