// One run of the comparison: its optimizer, label, and every hyperparameter of the schema, with the
// less common ones, the learning-rate schedule and gradient clipping in collapsible groups.
import { useState, type ReactNode } from 'react';
import type { ExperimentConfig } from '../../engine/lab/experiment-config.ts';
import { groupSpec, isGroupId, OPTIMIZER_IDS, SCHEMA, type OptimizerId } from '../../engine/optim/schema.ts';
import { MAX_LABEL_LENGTH } from './config-checks.ts';
import { FieldMessages, ParamField } from './fields.tsx';
import {
  fieldDomId,
  groupFields,
  joinIds,
  messagesAt,
  otherRunMessages,
  resetParam,
  setLabel,
  setOptimizer,
  setParam,
  type EntryGroup,
  type FieldModel,
  type SetupValidation,
} from './setup-model.ts';

interface OptimizerEditorProps {
  config: ExperimentConfig;
  index: number;
  onChange: (config: ExperimentConfig) => void;
  validation: SetupValidation;
  /** The label the runner gives this run when it has none. */
  defaultLabel: string;
  onDuplicate?: () => void;
  onRemove?: () => void;
}

export function OptimizerEditor({ config, index, onChange, validation, defaultLabel, onDuplicate, onRemove }: OptimizerEditorProps) {
  const entry = config.optimizers[index];
  const prefix = `optimizers[${index}]`;
  const known = isGroupId(entry.id);
  const fieldsOf = (group: EntryGroup) => groupFields(config, index, group).filter((f) => f.visible);
  const hyper = fieldsOf('hyper');
  const label = typeof entry.label === 'string' && entry.label.trim() !== '' ? entry.label : defaultLabel;
  const idId = fieldDomId(`${prefix}.id`);
  const labelId = fieldDomId(`${prefix}.label`);
  const idMessages = messagesAt(validation, `${prefix}.id`);
  const labelMessages = messagesAt(validation, `${prefix}.label`);

  const renderField = (field: FieldModel) => (
    <ParamField
      key={field.path}
      field={field}
      messages={messagesAt(validation, field.path)}
      onSet={(value) => onChange(setParam(config, index, field.group, field.spec.key, value))}
      onReset={() => onChange(resetParam(config, index, field.group, field.spec.key))}
    />
  );

  return (
    <fieldset className="setup-run" id={fieldDomId(prefix)} tabIndex={-1} data-testid={`run-editor-${index}`}>
      <legend>
        Run {index + 1}: {label}
      </legend>
      <FieldMessages id={`${fieldDomId(prefix)}-error`} messages={otherRunMessages(validation, config, index)} />
      <div className="setup-run-head">
        <div className="setup-field">
          <label htmlFor={idId}>Optimizer</label>
          <select
            id={idId}
            value={entry.id}
            aria-invalid={idMessages.length > 0 || undefined}
            aria-describedby={joinIds(idMessages.length > 0 && `${idId}-error`)}
            onChange={(event) => onChange(setOptimizer(config, index, event.target.value as OptimizerId))}
          >
            {!known && <option value={entry.id}>(unknown optimizer)</option>}
            {OPTIMIZER_IDS.map((id) => (
              <option key={id} value={id}>
                {SCHEMA[id].label}
              </option>
            ))}
          </select>
          <FieldMessages id={`${idId}-error`} messages={idMessages} />
        </div>
        <div className="setup-field">
          <label htmlFor={labelId}>Label</label>
          <input
            id={labelId}
            type="text"
            value={entry.label ?? ''}
            placeholder={defaultLabel}
            maxLength={MAX_LABEL_LENGTH}
            autoComplete="off"
            spellCheck={false}
            aria-invalid={labelMessages.length > 0 || undefined}
            aria-describedby={joinIds(labelMessages.length > 0 && `${labelId}-error`, `${labelId}-hint`)}
            onChange={(event) => onChange(setLabel(config, index, event.target.value))}
          />
          <p id={`${labelId}-hint`} className="setup-hint">
            Shown in charts and tables; empty = “{defaultLabel}”.
          </p>
          <FieldMessages id={`${labelId}-error`} messages={labelMessages} />
        </div>
        <div className="setup-run-actions">
          <button type="button" className="setup-small-button" onClick={onDuplicate} disabled={!onDuplicate}>
            Duplicate<span className="visually-hidden"> run {index + 1}</span>
          </button>
          <button type="button" className="setup-small-button" onClick={onRemove} disabled={!onRemove}>
            Remove<span className="visually-hidden"> run {index + 1}</span>
          </button>
        </div>
      </div>
      {known && <p className="setup-hint">{groupSpec(entry.id).description}</p>}
      <div className="setup-grid">{hyper.filter((f) => !f.advanced).map(renderField)}</div>
      <Collapsible title="More settings" fields={hyper.filter((f) => f.advanced)} validation={validation}>
        {(fields) => fields.map(renderField)}
      </Collapsible>
      <Collapsible title={SCHEMA.schedule.label} fields={fieldsOf('schedule')} validation={validation}>
        {(fields) => fields.map(renderField)}
      </Collapsible>
      <Collapsible title={SCHEMA.clip.label} fields={fieldsOf('clip')} validation={validation}>
        {(fields) => fields.map(renderField)}
      </Collapsible>
    </fieldset>
  );
}

interface CollapsibleProps {
  title: string;
  fields: FieldModel[];
  validation: SetupValidation;
  children: (fields: FieldModel[]) => ReactNode;
}

/** A <details> group whose summary says how many of its fields are changed or invalid; open at first if any are. */
function Collapsible({ title, fields, validation, children }: CollapsibleProps) {
  const changed = fields.filter((f) => f.changed).length;
  const problems = fields.filter((f) => validation.byPath.has(f.path)).length;
  const [open, setOpen] = useState(changed > 0 || problems > 0);
  if (fields.length === 0) return null;
  const notes = [changed > 0 && `${changed} changed`, problems > 0 && `${problems} ${problems === 1 ? 'problem' : 'problems'}`].filter(
    Boolean,
  );
  return (
    <details className="setup-group" open={open} onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary>
        {title}
        {notes.length > 0 && (
          <span className={problems > 0 ? 'setup-group-note is-invalid' : 'setup-group-note'}> ({notes.join(', ')})</span>
        )}
      </summary>
      <div className="setup-grid">{children(fields)}</div>
    </details>
  );
}
