import { useState } from 'react';
import { api, ApiError, setToken } from '../api';

export default function AuthPage({ notice, onSignedIn }: { notice: string | null; onSignedIn: () => void }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = mode === 'login' ? await api.login(email, password) : await api.register(email, password);
      setToken(r.token);
      onSignedIn();
    } catch (err) {
      setError(err instanceof ApiError ? err.readable : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="auth-page">
      <form className="auth-card" onSubmit={submit} data-testid="auth-form">
        <div className="brand big">
          <span className="brand-mark" /> YouMeYou
        </div>
        <div className="muted">{mode === 'login' ? 'Sign in to your designs' : 'Create your account'}</div>
        {notice && <div className="alert warn">{notice}</div>}
        <label className="field-label" htmlFor="email">
          Email
        </label>
        <input id="email" className="input" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required autoComplete="email" />
        <label className="field-label" htmlFor="password">
          Password
        </label>
        <input
          id="password"
          className="input"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
          autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
        />
        {error && (
          <div className="alert bad" role="alert">
            {error}
          </div>
        )}
        <button className="btn primary block" disabled={busy}>
          {busy ? '…' : mode === 'login' ? 'Sign in' : 'Sign up'}
        </button>
        <button type="button" className="link" onClick={() => setMode(mode === 'login' ? 'register' : 'login')}>
          {mode === 'login' ? 'No account yet? Sign up' : 'Have an account? Sign in'}
        </button>
      </form>
    </div>
  );
}
