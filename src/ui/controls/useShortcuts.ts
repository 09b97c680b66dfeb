import { useEffect } from 'react';
import { shortcutFor, type ShortcutAction } from './keyboard.ts';

/** Listen for the lab's shortcuts on the document while mounted. */
export function useShortcuts(handlers: Record<ShortcutAction, () => void>): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const el = e.target instanceof HTMLElement ? e.target : null;
      const action = shortcutFor({
        key: e.key,
        altKey: e.altKey,
        ctrlKey: e.ctrlKey,
        metaKey: e.metaKey,
        shiftKey: e.shiftKey,
        target: el && {
          tagName: el.tagName,
          type: (el as HTMLInputElement).type,
          isContentEditable: el.isContentEditable,
          role: el.getAttribute('role'),
        },
      });
      if (!action) return;
      e.preventDefault();
      handlers[action]();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [handlers]);
}
