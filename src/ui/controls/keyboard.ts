// Keyboard shortcuts of the lab (Space: start / pause / resume, →: single step, R: reset). They must
// never fire while the user types or operates a control that uses those keys itself.
export type ShortcutAction = 'toggle' | 'step' | 'reset';

export interface KeyLike {
  key: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  /** The focused element's tag, input type, role and contenteditable state. */
  target: { tagName?: string; type?: string; isContentEditable?: boolean; role?: string | null } | null;
}

const TYPING_TAGS = new Set(['INPUT', 'TEXTAREA', 'SELECT', 'BUTTON', 'SUMMARY', 'A']);
const KEY_ROLES = new Set(['slider', 'spinbutton', 'textbox', 'combobox', 'listbox', 'menu', 'radio', 'tab', 'button']);

/** True when the key belongs to the focused element (text fields, selects, sliders, buttons, links). */
export function isOwnedByTarget(target: KeyLike['target']): boolean {
  if (!target) return false;
  if (target.isContentEditable) return true;
  if (target.tagName && TYPING_TAGS.has(target.tagName.toUpperCase())) return true;
  return target.role != null && KEY_ROLES.has(target.role);
}

export function shortcutFor(event: KeyLike): ShortcutAction | null {
  if (event.altKey || event.ctrlKey || event.metaKey) return null;
  if (isOwnedByTarget(event.target)) return null;
  if (event.key === ' ' || event.key === 'Spacebar') return 'toggle';
  if (event.key === 'ArrowRight') return 'step';
  if ((event.key === 'r' || event.key === 'R') && !event.shiftKey) return 'reset';
  return null;
}

export const SHORTCUT_HELP: readonly [string, string][] = [
  ['Space', 'start, pause or resume'],
  ['→', 'one step (every run)'],
  ['R', 'reset'],
];
