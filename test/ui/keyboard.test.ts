import { describe, expect, it } from 'vitest';
import { shortcutFor, type KeyLike } from '../../src/ui/controls/keyboard.ts';

const key = (k: string, target: KeyLike['target'] = { tagName: 'BODY' }, mods: Partial<KeyLike> = {}): KeyLike => ({
  key: k,
  altKey: false,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  target,
  ...mods,
});

describe('lab shortcuts', () => {
  it('map Space, → and R on the page body', () => {
    expect(shortcutFor(key(' '))).toBe('toggle');
    expect(shortcutFor(key('ArrowRight'))).toBe('step');
    expect(shortcutFor(key('r'))).toBe('reset');
    expect(shortcutFor(key('R'))).toBe('reset');
    expect(shortcutFor(key('x'))).toBeNull();
  });

  it('never fire while typing or operating a control', () => {
    for (const tagName of ['INPUT', 'TEXTAREA', 'SELECT', 'BUTTON', 'input']) {
      expect(shortcutFor(key(' ', { tagName })), tagName).toBeNull();
      expect(shortcutFor(key('r', { tagName })), tagName).toBeNull();
    }
    expect(shortcutFor(key('ArrowRight', { tagName: 'DIV', role: 'slider' }))).toBeNull();
    expect(shortcutFor(key(' ', { tagName: 'DIV', isContentEditable: true }))).toBeNull();
  });

  it('leave browser and system shortcuts alone', () => {
    expect(shortcutFor(key('r', undefined, { ctrlKey: true }))).toBeNull();
    expect(shortcutFor(key('r', undefined, { metaKey: true }))).toBeNull();
    expect(shortcutFor(key('ArrowRight', undefined, { altKey: true }))).toBeNull();
  });
});
