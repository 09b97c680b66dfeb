// The "Checkpoints" card of the tool pages: the model the page works on (keep it in this browser,
// download it), a file input to open a checkpoint, and the checkpoints kept in this browser (use,
// remove). The page's store owns the checkpoint and the actions; this card only shows them.
import { useId, type ReactNode } from 'react';
import { CHECKPOINT_EXTENSION, type StoredCheckpoint } from '../checkpoints/checkpoint-library.ts';

/** The test ids a page's e2e spec relies on; a page that names none gets none. */
export interface CheckpointCardTestIds {
  current?: string;
  keep?: string;
  download?: string;
  upload?: string;
  stored?: string;
}

export function CheckpointCard(props: {
  /** Prefix of the card's class (`${prefix}-model`) and heading id (`${prefix}-model-heading`). */
  prefix: string;
  /** The current model's line ("Current model: …"), or null when there is none yet. */
  current: ReactNode | null;
  /** What the card says when there is no model yet. */
  empty: string;
  stored: readonly StoredCheckpoint[];
  /** Show when each kept checkpoint was saved. */
  showSavedAt?: boolean;
  onKeep: () => Promise<void>;
  onDownload: () => void;
  onUpload: (file: File) => Promise<void>;
  onOpenStored: (id: string) => Promise<void>;
  onForget: (id: string) => Promise<void>;
  testIds?: CheckpointCardTestIds;
}) {
  const uploadId = useId();
  const headingId = `${props.prefix}-model-heading`;
  const ids = props.testIds ?? {};
  return (
    <section className={`card ${props.prefix}-model`} aria-labelledby={headingId}>
      <h3 id={headingId}>Checkpoints</h3>
      {props.current !== null ? (
        <div data-testid={ids.current}>
          <p>{props.current}</p>
          <div className="button-row">
            <button type="button" onClick={() => void props.onKeep()} data-testid={ids.keep}>
              Keep in this browser
            </button>
            <button type="button" onClick={props.onDownload} data-testid={ids.download}>
              Download {CHECKPOINT_EXTENSION}
            </button>
          </div>
        </div>
      ) : (
        <p className="muted">{props.empty}</p>
      )}
      <div className="field">
        <label htmlFor={uploadId}>Open a {CHECKPOINT_EXTENSION} file</label>
        <input
          id={uploadId}
          type="file"
          accept={`${CHECKPOINT_EXTENSION},application/octet-stream`}
          data-testid={ids.upload}
          onChange={(e) => {
            const file = e.currentTarget.files?.[0];
            if (file) void props.onUpload(file);
            e.currentTarget.value = '';
          }}
        />
      </div>
      <h4>Kept in this browser</h4>
      {props.stored.length === 0 ? (
        <p className="muted">None yet.</p>
      ) : (
        <ul className="stored-list" data-testid={ids.stored}>
          {props.stored.map((s) => (
            <li key={s.id}>
              {props.showSavedAt ? (
                <span>
                  {s.name} <span className="muted">({new Date(s.savedAt).toLocaleString()})</span>
                </span>
              ) : (
                <span>{s.name}</span>
              )}
              <button type="button" className="link-button" onClick={() => void props.onOpenStored(s.id)}>
                Use
              </button>
              <button type="button" className="link-button" onClick={() => void props.onForget(s.id)} aria-label={`Remove ${s.name}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
