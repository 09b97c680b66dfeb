// Errors and warnings of the lab (invalid links, diverged runs, device loss), each dismissible.
import { useLabUi } from '../lab/lab-store.ts';

export function Messages() {
  const messages = useLabUi((s) => s.messages);
  const urlErrors = useLabUi((s) => s.urlErrors);
  const dismiss = useLabUi((s) => s.dismissMessage);
  if (messages.length === 0) return null;
  return (
    <div className="messages" data-testid="messages">
      {messages.map((m) => (
        <div
          key={m.id}
          className={`notice notice-${m.kind === 'error' ? 'fail' : m.kind === 'warning' ? 'warn' : 'ok'}`}
          role={m.kind === 'error' ? 'alert' : 'status'}
        >
          <p>{m.text}</p>
          {m.kind === 'warning' && urlErrors.length > 0 && m.text.startsWith('The link') && (
            <ul data-testid="url-errors">
              {urlErrors.map((e, i) => (
                <li key={i}>{e}</li>
              ))}
            </ul>
          )}
          <button type="button" className="link-button" onClick={() => dismiss(m.id)} aria-label="Dismiss this message">
            Dismiss
          </button>
        </div>
      ))}
    </div>
  );
}
