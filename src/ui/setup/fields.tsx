// Small field components of the setup panel: a number box that keeps what the user is typing, a
// schema-driven hyperparameter field (number, select, checkbox) with range, help, "changed" mark and
// reset, and the message line under a field. Every text here is React text, never markup.
import { useId, useState, type KeyboardEvent, type ReactNode } from 'react';
import { describeRange, formatNumber, type NumericParam, type ParamSpec, type ParamValue } from '../../engine/optim/schema.ts';
import { arrowStep, fieldDomId, joinIds, formatNumberInput, parseNumberInput, type FieldModel } from './setup-model.ts';

export function FieldMessages({ id, messages }: { id: string; messages: readonly string[] }) {
  if (messages.length === 0) return null;
  return (
    <p id={id} className="setup-error">
      <span aria-hidden="true">⚠ </span>
      {messages.join(' ')}
    </p>
  );
}

interface NumberInputProps {
  id: string;
  value: number;
  onValue: (value: number) => void;
  min?: number;
  max?: number;
  /** 'any' hides the spin buttons (they would step by 1); `onArrow` then decides what arrow keys do. */
  step?: number | 'any';
  onArrow?: (value: number, direction: 1 | -1) => number;
  describedBy?: string;
  invalid: boolean;
}

/**
 * A number box that keeps the user's text while it is incomplete ("1e-", "0.") and shows a new
 * value when the config changes from elsewhere (reset, preset). Unreadable text is passed on as NaN
 * so that validation names the field.
 */
export function NumberInput({ id, value, onValue, min, max, step = 'any', onArrow, describedBy, invalid }: NumberInputProps) {
  const [draft, setDraft] = useState(() => formatNumberInput(value));
  const [shownValue, setShownValue] = useState(value);
  if (!Object.is(shownValue, value)) {
    // Adjusting state while rendering (React's pattern for props-derived state): adopt the new value unless the draft already says it.
    setShownValue(value);
    if (!Object.is(parseNumberInput(draft), value)) setDraft(formatNumberInput(value));
  }
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (!onArrow || (event.key !== 'ArrowUp' && event.key !== 'ArrowDown')) return;
    event.preventDefault();
    const next = onArrow(parseNumberInput(draft), event.key === 'ArrowUp' ? 1 : -1);
    setDraft(formatNumberInput(next));
    onValue(next);
  };
  return (
    <input
      id={id}
      type="number"
      className={step === 'any' ? 'setup-number no-spin' : 'setup-number'}
      value={draft}
      min={min}
      max={max}
      step={step}
      aria-invalid={invalid || undefined}
      aria-describedby={describedBy}
      onKeyDown={onKeyDown}
      onChange={(event) => {
        setDraft(event.target.value);
        onValue(parseNumberInput(event.target.value));
      }}
    />
  );
}

function formatParamValue(spec: ParamSpec, value: ParamValue): string {
  if (spec.type === 'boolean') return value ? 'on' : 'off';
  if (spec.type === 'enum') return spec.options.find((o) => o.value === value)?.label ?? String(value);
  return value === 0 && spec.zeroMeansOff ? '0 (off)' : formatNumber(value as number);
}

function rangeHint(spec: ParamSpec, defaultValue: ParamValue): string {
  const shownDefault = `default ${formatParamValue(spec, defaultValue)}`;
  if (spec.type === 'number' || spec.type === 'integer') {
    return `${describeRange(spec)}${spec.scale === 'log' ? ', log scale (arrow keys: 1-2-5 steps)' : ''}; ${shownDefault}`;
  }
  return shownDefault[0].toUpperCase() + shownDefault.slice(1);
}

function ParamControl({ field, id, describedBy, invalid, onSet }: ParamFieldControlProps) {
  const { spec, value } = field;
  if (spec.type === 'boolean') {
    return (
      <input
        id={id}
        type="checkbox"
        className="setup-checkbox"
        checked={value === true}
        aria-describedby={describedBy}
        aria-invalid={invalid || undefined}
        onChange={(event) => onSet(event.target.checked)}
      />
    );
  }
  if (spec.type === 'enum') {
    const known = spec.options.some((o) => o.value === value);
    return (
      <select
        id={id}
        value={String(value)}
        aria-describedby={describedBy}
        aria-invalid={invalid || undefined}
        onChange={(e) => onSet(e.target.value)}
      >
        {!known && <option value={String(value)}>{String(value)} (unknown)</option>}
        {spec.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    );
  }
  const numeric: NumericParam = spec;
  const linearInteger = numeric.type === 'integer' && numeric.scale === 'linear';
  return (
    <NumberInput
      id={id}
      value={typeof value === 'number' ? value : NaN}
      onValue={onSet}
      min={numeric.zeroMeansOff ? 0 : numeric.min}
      max={numeric.max}
      step={linearInteger ? 1 : 'any'}
      onArrow={linearInteger ? undefined : (current, direction) => arrowStep(numeric, current, direction)}
      describedBy={describedBy}
      invalid={invalid}
    />
  );
}

interface ParamFieldControlProps {
  field: FieldModel;
  id: string;
  describedBy?: string;
  invalid: boolean;
  onSet: (value: unknown) => void;
}

interface ParamFieldProps {
  field: FieldModel;
  messages: readonly string[];
  onSet: (value: unknown) => void;
  onReset: () => void;
}

/** One hyperparameter from the schema: control, range and default, help, "changed" mark with reset, messages. */
export function ParamField({ field, messages, onSet, onReset }: ParamFieldProps) {
  const id = fieldDomId(field.path);
  const hintId = `${id}-hint`;
  const helpId = `${id}-help`;
  const errorId = `${id}-error`;
  const invalid = messages.length > 0;
  const describedBy = joinIds(invalid && errorId, hintId, helpId);
  const { spec } = field;
  const checkbox = spec.type === 'boolean';
  const control = <ParamControl field={field} id={id} describedBy={describedBy} invalid={invalid} onSet={onSet} />;
  return (
    <div className={`setup-field${field.changed ? ' is-changed' : ''}${invalid ? ' is-invalid' : ''}`} data-path={field.path}>
      <div className={checkbox ? 'setup-field-row setup-field-check' : 'setup-field-row'}>
        {checkbox && control}
        <label htmlFor={id}>{spec.label}</label>
        {field.changed && <span className="changed-badge">changed</span>}
      </div>
      {!checkbox && control}
      <p id={hintId} className="setup-hint">
        {rangeHint(spec, field.defaultValue)}
      </p>
      {field.changed && (
        <button type="button" className="setup-small-button reset-button" onClick={onReset}>
          Reset<span className="visually-hidden"> {spec.label}</span> to {formatParamValue(spec, field.defaultValue)}
        </button>
      )}
      <details className="setup-help">
        <summary>
          About<span className="visually-hidden"> {spec.label}</span>
        </summary>
        <p id={helpId}>{spec.help}</p>
      </details>
      <FieldMessages id={errorId} messages={messages} />
    </div>
  );
}

interface PlainNumberFieldProps {
  path: string;
  label: string;
  value: number;
  onValue: (value: number) => void;
  min: number;
  max: number;
  hint: ReactNode;
  messages: readonly string[];
  step?: number | 'any';
}

/** A number field of the experiment itself (steps, seed, …). */
export function PlainNumberField({ path, label, value, onValue, min, max, hint, messages, step = 1 }: PlainNumberFieldProps) {
  const id = fieldDomId(path);
  const hintId = useId();
  const errorId = `${id}-error`;
  const invalid = messages.length > 0;
  return (
    <div className={`setup-field${invalid ? ' is-invalid' : ''}`} data-path={path}>
      <label htmlFor={id}>{label}</label>
      <NumberInput
        id={id}
        value={value}
        onValue={onValue}
        min={min}
        max={max}
        step={step}
        describedBy={joinIds(invalid && errorId, hintId)}
        invalid={invalid}
      />
      <p id={hintId} className="setup-hint">
        {hint}
      </p>
      <FieldMessages id={errorId} messages={messages} />
    </div>
  );
}
