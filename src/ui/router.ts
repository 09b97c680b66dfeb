// The lab's pages and their hash routes. The race is the landing page and keeps its own URL format
// (the experiment straight after '#', url-state.ts), so every link shared before there were pages
// still opens the same experiment; the other pages live under '#/<page>' with their own settings
// after a '?': '#/curvature?task=vit-mnist&examples=128'. Each page reads and writes its own part.
import { useEffect, useState } from 'react';

export type PageId = 'race' | 'curvature' | 'pruning' | 'memorisation' | 'influence' | 'thermodynamic' | 'ngd' | 'laplace';

export interface PageInfo {
  id: PageId;
  /** The navigation's label. */
  title: string;
  /** One line for the navigation's tooltip and the page's heading. */
  about: string;
}

export const PAGES: readonly PageInfo[] = [
  { id: 'race', title: 'Optimizer race', about: 'Train one model with SGD, Adam, K-FAC-expand and K-FAC-reduce side by side.' },
  { id: 'curvature', title: 'Curvature', about: "Look inside a model's curvature: K-FAC, EK-FAC and the exact GGN, layer by layer." },
  {
    id: 'laplace',
    title: 'Laplace',
    about: 'Learn each layer’s prior from the training data by the marginal likelihood, with K-FAC-expand and K-FAC-reduce Laplace fits.',
  },
  {
    id: 'influence',
    title: 'Influence',
    about: 'Which training images made a classifier say this? Influence with K-FAC and EK-FAC, checked by the LDS.',
  },
  {
    id: 'memorisation',
    title: 'Memorisation',
    about: 'Edit a model in the K-FAC eigenbasis: remove low-curvature components and see memorised labels go.',
  },
  {
    id: 'pruning',
    title: 'Pruning',
    about: 'Prune a trained MNIST model: magnitude, diagonal Fisher, WoodFisher and K-FAC optimal brain surgeon.',
  },
  {
    id: 'thermodynamic',
    title: 'Thermodynamic',
    about: 'K-FAC with inverses from a simulated noisy analog device: does the second-order advantage survive?',
  },
  { id: 'ngd', title: 'Wide NGD', about: 'Natural gradient on wide two-layer ReLU nets: the residual shrinks by exactly 1 − η per step.' },
];

export interface Route {
  page: PageId;
  /** The page's own settings: the race's experiment, or what follows '?' on another page ('' when none). */
  query: string;
  /** Why the hash could not be followed (then the race is shown); null when it could. */
  error: string | null;
}

const MAX_QUOTED = 40;

function quote(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text);
}

function isPageId(name: string): name is PageId {
  return PAGES.some((p) => p.id === name);
}

/** The route of a location hash (with or without '#'); never throws. */
export function parseRoute(hash: string): Route {
  const body = typeof hash === 'string' ? (hash.startsWith('#') ? hash.slice(1) : hash) : '';
  if (!body.startsWith('/')) return { page: 'race', query: body, error: null };
  const question = body.indexOf('?');
  const path = question < 0 ? body.slice(1) : body.slice(1, question);
  const query = question < 0 ? '' : body.slice(question + 1);
  const name = path.replace(/\/+$/, '');
  if (name === '' || name === 'race') return { page: 'race', query: name === '' ? '' : query, error: null };
  if (isPageId(name)) return { page: name, query, error: null };
  let shown = name;
  try {
    shown = decodeURIComponent(name);
  } catch {
    // Shown as it is.
  }
  return {
    page: 'race',
    query: '',
    error: `There is no page ${quote(shown)} (pages: ${PAGES.map((p) => p.id).join(', ')}); showing the optimizer race instead.`,
  };
}

/** The hash of a page with its settings ('' for none). */
export function routeHash(page: PageId, query = ''): string {
  if (page === 'race') return query === '' ? '#/' : `#${query}`;
  return query === '' ? `#/${page}` : `#/${page}?${query}`;
}

/** The current route, following the location's hash. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

/** Go to a page (a history entry, so Back returns). */
export function navigate(page: PageId, query = ''): void {
  window.location.hash = routeHash(page, query);
}
