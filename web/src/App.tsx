import { ReactFlowProvider } from '@xyflow/react';
import { useCallback, useEffect, useState } from 'react';
import { api, ApiError, getToken, onAuthLost, setToken } from './api';
import AuthPage from './components/AuthPage';
import ProjectList from './components/ProjectList';
import ProjectPage from './components/ProjectPage';

type Route = { page: 'projects' } | { page: 'project'; id: string };

function parse(path: string): Route {
  const m = path.match(/^\/projects\/([^/]+)/);
  return m ? { page: 'project', id: decodeURIComponent(m[1]) } : { page: 'projects' };
}

interface Banner {
  id: number;
  text: string;
}

export default function App() {
  const [route, setRoute] = useState<Route>(() => parse(location.pathname));
  const [auth, setAuth] = useState<'unknown' | 'on' | 'off'>('unknown');
  const [signedIn, setSignedIn] = useState(!!getToken());
  const [authNotice, setAuthNotice] = useState<string | null>(null);
  const [banners, setBanners] = useState<Banner[]>([]);

  const showError = useCallback((text: string) => {
    setBanners((b) => [...b.filter((x) => x.text !== text), { id: Date.now() + Math.random(), text }].slice(-4));
  }, []);

  useEffect(() => {
    const onPop = () => setRoute(parse(location.pathname));
    window.addEventListener('popstate', onPop);
    onAuthLost((message) => {
      setToken(null);
      setSignedIn(false);
      setAuthNotice(`Please sign in again: ${message}`);
    });
    api.authConfig().then(
      (c) => setAuth(c.auth),
      (e) => {
        setAuth('off');
        showError(`Could not reach the server: ${e instanceof ApiError ? e.readable : String(e)}`);
      },
    );
    return () => window.removeEventListener('popstate', onPop);
  }, [showError]);

  const go = (path: string) => {
    history.pushState(null, '', path);
    setRoute(parse(path));
    setBanners([]);
  };

  let body;
  if (auth === 'unknown') body = <div className="loading">Loading…</div>;
  else if (auth === 'on' && !signedIn)
    body = (
      <AuthPage
        notice={authNotice}
        onSignedIn={() => {
          setSignedIn(true);
          setAuthNotice(null);
        }}
      />
    );
  else if (route.page === 'project')
    body = (
      <ReactFlowProvider key={route.id}>
        <ProjectPage projectId={route.id} onBack={() => go('/')} onError={showError} />
      </ReactFlowProvider>
    );
  else
    body = (
      <div className="shell">
        <header className="topbar">
          <div className="brand">
            <span className="brand-mark" /> YouMeYou
          </div>
          {auth === 'on' && (
            <button
              className="btn ghost small"
              onClick={() => {
                setToken(null);
                setSignedIn(false);
              }}
            >
              Sign out
            </button>
          )}
        </header>
        <ProjectList onOpen={(id) => go(`/projects/${encodeURIComponent(id)}`)} onError={showError} />
      </div>
    );

  return (
    <>
      {body}
      {banners.length > 0 && (
        <div className="banners" data-testid="errors">
          {banners.map((b) => (
            <div key={b.id} className="banner" role="alert">
              <span>{b.text}</span>
              <button className="icon-btn" onClick={() => setBanners((x) => x.filter((y) => y.id !== b.id))} aria-label="Dismiss">
                ×
              </button>
            </div>
          ))}
        </div>
      )}
    </>
  );
}
