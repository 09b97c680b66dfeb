// Errors and warnings of a page (invalid links, diverged runs, device loss), each dismissible. The
// race page shows the lab's messages; the Curvature page passes its own to MessageList.
import { useLabUi } from '../lab/lab-store.ts';

export interface ShownMessage {
  id: number;
  kind: 'error' | 'warning' | 'info';
  text: string;
}

export function Messages() {
  const messages = useLabUi((s) => s.messages);
  const urlErrors = useLabUi((s) => s.urlErrors);
  const dismiss = useLabUi((s) => s.dismissMessage);
  return <MessageList messages={messages} urlErrors={urlErrors} onDismiss={dismiss} testId="messages" urlErrorsTestId="url-errors" />;
}

/** The messages as notices; a warning about the link also lists the link's errors. */
export function MessageList(props: {
  messages: readonly ShownMessage[];
  urlErrors: readonly string[];
  onDismiss: (id: number) => void;
  testId: string;
  urlErrorsTestId: string;
}) {
  const { messages, urlErrors, onDismiss } = props;
  if (messages.length === 0) return null;
  return (
    <div className="messages" data-testid={props.testId}>
      {messages.map((m) => (
        <div
          key={m.id}
          className={`notice notice-${m.kind === 'error' ? 'fail' : m.kind === 'warning' ? 'warn' : 'ok'}`}
          role={m.kind === 'error' ? 'alert' : 'status'}
        >
          <p>{m.text}</p>
          {m.kind === 'warning' && urlErrors.length > 0 && m.text.startsWith('The link') && (
            <ul data-testid={props.urlErrorsTestId}>
              {urlErrors.map((e, i) => (
                <li key={i}>{e}</li>
              ))}
            </ul>
          )}
          <button type="button" className="link-button" onClick={() => onDismiss(m.id)} aria-label="Dismiss this message">
            Dismiss
          </button>
        </div>
      ))}
    </div>
  );
}
