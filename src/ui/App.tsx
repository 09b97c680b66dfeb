// The lab's shell: the title, the navigation between its pages (hash routes, router.ts), the
// training worker's backend banner, and the current page, loaded on first visit (each page is its
// own chunk). The race is the landing page. The worker and the page's own WebGPU check start here
// once, whichever page is opened first, and serve every page.
import { lazy, Suspense, useEffect } from 'react';
import { useLabUi } from './lab/lab-store.ts';
import { BackendBanner } from './components/BackendBanner.tsx';
import { useDiagnostics } from './diagnostics-store.ts';
import { PAGES, routeHash, useRoute, type PageId } from './router.ts';

const RacePage = lazy(() => import('./pages/race/RacePage.tsx').then((m) => ({ default: m.RacePage })));
const CurvaturePage = lazy(() => import('./pages/curvature/CurvaturePage.tsx').then((m) => ({ default: m.CurvaturePage })));
const LaplacePage = lazy(() => import('./pages/laplace/LaplacePage.tsx').then((m) => ({ default: m.LaplacePage })));
const ThermodynamicPage = lazy(() => import('./pages/thermodynamic/ThermodynamicPage.tsx').then((m) => ({ default: m.ThermodynamicPage })));
const NgdPage = lazy(() => import('./pages/ngd/NgdPage.tsx').then((m) => ({ default: m.NgdPage })));
const InfluencePage = lazy(() => import('./pages/influence/InfluencePage.tsx').then((m) => ({ default: m.InfluencePage })));
const MemorisationPage = lazy(() => import('./pages/memorisation/MemorisationPage.tsx').then((m) => ({ default: m.MemorisationPage })));
const PruningPage = lazy(() => import('./pages/pruning/PruningPage.tsx').then((m) => ({ default: m.PruningPage })));

function PageView({ page, query }: { page: PageId; query: string }) {
  switch (page) {
    case 'race':
      return <RacePage query={query} />;
    case 'curvature':
      return <CurvaturePage query={query} />;
    case 'laplace':
      return <LaplacePage query={query} />;
    case 'thermodynamic':
      return <ThermodynamicPage query={query} />;
    case 'ngd':
      return <NgdPage query={query} />;
    case 'influence':
      return <InfluencePage query={query} />;
    case 'memorisation':
      return <MemorisationPage query={query} />;
    case 'pruning':
      return <PruningPage query={query} />;
  }
}

function focusMain(event: React.MouseEvent<HTMLAnchorElement>) {
  // The hash holds the route: the skip link moves the focus instead of changing it.
  event.preventDefault();
  document.getElementById('main')?.focus();
}

export function App() {
  const init = useLabUi((s) => s.init);
  const startShell = useDiagnostics((s) => s.start);
  const announcement = useDiagnostics((s) => s.announcement);
  const route = useRoute();
  useEffect(() => {
    init();
    void startShell();
  }, [init, startShell]);

  return (
    <>
      <a className="skip-link" href="#main" onClick={focusMain}>
        Skip to the content
      </a>
      <header className="page-header">
        <h1>kfac-lab</h1>
        <nav className="page-nav" aria-label="Pages">
          <ul>
            {PAGES.map((p) => (
              <li key={p.id}>
                <a
                  href={routeHash(p.id)}
                  title={p.about}
                  aria-current={route.page === p.id ? 'page' : undefined}
                  data-testid={`nav-${p.id}`}
                >
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      {route.error && (
        <p className="notice notice-warn" role="alert" data-testid="route-error">
          {route.error}
        </p>
      )}
      <BackendBanner />
      <main id="main" tabIndex={-1} data-page={route.page}>
        <Suspense fallback={<p className="page-loading">Loading the page…</p>}>
          <PageView page={route.page} query={route.query} />
        </Suspense>
      </main>
      <p className="visually-hidden" role="status" aria-live="polite" data-testid="live-status">
        {announcement}
      </p>
    </>
  );
}
