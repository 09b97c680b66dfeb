// The lab's hash routes (src/ui/router.ts): the race keeps its own URL format, pages live under
// '#/<page>?<settings>', and anything else falls back to the race with a message.
import { describe, expect, it } from 'vitest';
import { parseRoute, routeHash, PAGES } from '../../src/ui/router.ts';

describe('parseRoute', () => {
  it("sends the race's own links (and no hash) to the race with their settings", () => {
    expect(parseRoute('')).toEqual({ page: 'race', query: '', error: null });
    expect(parseRoute('#')).toEqual({ page: 'race', query: '', error: null });
    expect(parseRoute('#task=vit-mnist&steps=40')).toEqual({ page: 'race', query: 'task=vit-mnist&steps=40', error: null });
    expect(parseRoute('#/')).toEqual({ page: 'race', query: '', error: null });
  });

  it('reads a page and its settings', () => {
    expect(parseRoute('#/curvature')).toEqual({ page: 'curvature', query: '', error: null });
    expect(parseRoute('#/curvature?task=mlp-spirals&examples=64')).toEqual({
      page: 'curvature',
      query: 'task=mlp-spirals&examples=64',
      error: null,
    });
    expect(parseRoute('#/curvature/?x=1')).toEqual({ page: 'curvature', query: 'x=1', error: null });
  });

  it('an unknown or hostile page falls back to the race with a plain-text message', () => {
    const r = parseRoute('#/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E?a=b');
    expect(r.page).toBe('race');
    expect(r.query).toBe('');
    // Every page is listed (the list grows with the lab's pages).
    expect(r.error).toMatch(/^There is no page "<img src=x onerror=alert\(1\)>" \(pages: race, curvature\b/);
    expect(parseRoute('#/%E0%A4%A').error).toMatch(/no page "%E0%A4%A"/);
    expect(parseRoute('#/' + 'x'.repeat(500)).error!.length).toBeLessThan(200);
    expect(parseRoute('#/__proto__').page).toBe('race');
    expect(parseRoute('#/constructor').error).toMatch(/no page "constructor"/);
  });

  it('routeHash and parseRoute agree for every page', () => {
    for (const page of PAGES) {
      for (const query of ['', 'a=1&b=2']) {
        const route = parseRoute(routeHash(page.id, query));
        expect(route).toEqual({ page: page.id, query, error: null });
      }
    }
  });
});
