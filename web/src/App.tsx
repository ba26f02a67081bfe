import { ReactFlowProvider } from '@xyflow/react';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { api, ApiError, getStoredSession, onAuthLost, setSession, type StoredSession } from './api';
import AccountMenu from './components/AccountMenu';
import AuthPage from './components/AuthPage';
import ProjectList from './components/ProjectList';
import ProjectPage from './components/ProjectPage';
import { AccessContext, accessFor, type Session } from './session';

type Route = { page: 'projects' } | { page: 'project'; id: string };

function parse(path: string): Route {
  const m = path.match(/^\/projects\/([^/]+)/);
  return m ? { page: 'project', id: decodeURIComponent(m[1]) } : { page: 'projects' };
}

interface Banner {
  id: number;
  text: string;
}

const readable = (e: unknown) => (e instanceof ApiError ? e.readable : String(e));

export default function App() {
  const [route, setRoute] = useState<Route>(() => parse(location.pathname));
  const [auth, setAuth] = useState<'unknown' | 'on' | 'off'>('unknown');
  // With accounts on: null until the stored token (if any) has been checked.
  const [user, setUser] = useState<Session | null>(null);
  const [checking, setChecking] = useState(true);
  const [authNotice, setAuthNotice] = useState<string | null>(null);
  // Offered again on the sign-in page after signing out or a refused token.
  const [lastEmail, setLastEmail] = useState(() => getStoredSession()?.email ?? '');
  const [banners, setBanners] = useState<Banner[]>([]);

  const showError = useCallback((text: string) => {
    setBanners((b) => [...b.filter((x) => x.text !== text), { id: Date.now() + Math.random(), text }].slice(-4));
  }, []);

  // The token's tier and permissions come from the server, never from the token's claims.
  const adopt = useCallback(
    async (stored: StoredSession) => {
      setSession(stored);
      try {
        const v = await api.validate();
        setUser({ email: stored.email, userId: v.userId, tier: v.tier, permissions: v.permissions });
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return; // onAuthLost has sent us to sign in
        // Permissions unknown: offer every action and let the server refuse readably.
        setUser({ email: stored.email, userId: stored.userId, tier: stored.tier, permissions: ['*'] });
        showError(`Could not check your account: ${readable(e)}`);
      }
    },
    [showError],
  );

  useEffect(() => {
    const onPop = () => setRoute(parse(location.pathname));
    window.addEventListener('popstate', onPop);
    onAuthLost((message) => {
      setLastEmail(getStoredSession()?.email ?? '');
      setSession(null);
      setUser(null);
      setBanners([]);
      setAuthNotice(`Your session has ended (${message}). Please sign in again.`);
    });
    api.authConfig().then(
      async (c) => {
        setAuth(c.auth);
        const stored = getStoredSession();
        if (c.auth === 'on' && stored) await adopt(stored);
        setChecking(false);
      },
      (e) => {
        setAuth('off');
        setChecking(false);
        showError(`Could not reach the server: ${readable(e)}`);
      },
    );
    return () => window.removeEventListener('popstate', onPop);
  }, [adopt, showError]);

  const go = (path: string) => {
    history.pushState(null, '', path);
    setRoute(parse(path));
    setBanners([]);
  };

  const signOut = useCallback(() => {
    setLastEmail(getStoredSession()?.email ?? '');
    setSession(null);
    setUser(null);
    setBanners([]);
    setAuthNotice('You have signed out.');
  }, []);

  const access = useMemo(() => accessFor(auth === 'on' ? user : null), [auth, user]);

  let body;
  if (auth === 'unknown' || checking) body = <div className="loading">Loading…</div>;
  else if (auth === 'on' && !user)
    body = (
      <AuthPage
        notice={authNotice}
        email={lastEmail}
        onSignedIn={async (stored) => {
          setAuthNotice(null);
          await adopt(stored);
        }}
      />
    );
  else if (route.page === 'project')
    body = (
      <ReactFlowProvider key={`${user?.userId ?? ''}/${route.id}`}>
        <ProjectPage projectId={route.id} onBack={() => go('/')} onError={showError} onSignOut={signOut} />
      </ReactFlowProvider>
    );
  else
    body = (
      <div className="shell">
        <header className="topbar">
          <div className="brand">
            <span className="brand-mark" /> YouMeYou
          </div>
          <AccountMenu onSignOut={signOut} />
        </header>
        <ProjectList key={user?.userId ?? ''} onOpen={(id) => go(`/projects/${encodeURIComponent(id)}`)} onError={showError} />
      </div>
    );

  return (
    <AccessContext.Provider value={access}>
      {body}
      {banners.length > 0 && (
        <div className="banners" data-testid="errors">
          {banners.map((b) => (
            <div key={b.id} className="banner" role="alert" data-testid="error-banner">
              <span>{b.text}</span>
              <button className="icon-btn" onClick={() => setBanners((x) => x.filter((y) => y.id !== b.id))} aria-label="Dismiss">
                ×
              </button>
            </div>
          ))}
        </div>
      )}
    </AccessContext.Provider>
  );
}
