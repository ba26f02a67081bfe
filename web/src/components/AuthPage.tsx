import { useState } from 'react';
import { api, ApiError, sentence, type StoredSession } from '../api';

interface Props {
  notice: string | null;
  /** The email of the session that just ended, if any. */
  email: string;
  onSignedIn: (s: StoredSession) => Promise<void>;
}

export default function AuthPage({ notice, email: lastEmail, onSignedIn }: Props) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [email, setEmail] = useState(lastEmail);
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = mode === 'login' ? await api.login(email, password) : await api.register(email, password);
      await onSignedIn({ token: r.token, email: email.trim(), userId: r.userId, tier: r.tier });
    } catch (err) {
      setError(sentence(err instanceof ApiError ? err.readable : String(err)));
      setBusy(false);
    }
  };
  return (
    <div className="auth-page">
      <form className="auth-card" onSubmit={submit} data-testid="auth-form" data-mode={mode}>
        <div className="brand big">
          <span className="brand-mark" /> YouMeYou
        </div>
        <div className="muted">{mode === 'login' ? 'Sign in to your designs' : 'Create your account'}</div>
        {notice && (
          <div className="alert warn" data-testid="auth-notice">
            {notice}
          </div>
        )}
        <label className="field-label" htmlFor="email">
          Email
        </label>
        <input
          id="email"
          className="input"
          type="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          required
          autoComplete="email"
          autoFocus={!lastEmail}
          data-testid="auth-email"
        />
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
          autoFocus={!!lastEmail}
          data-testid="auth-password"
        />
        {error && (
          <div className="alert bad" role="alert" data-testid="auth-error">
            {error}
          </div>
        )}
        <button className="btn primary block" disabled={busy} data-testid="auth-submit">
          {busy ? (mode === 'login' ? 'Signing in…' : 'Creating your account…') : mode === 'login' ? 'Sign in' : 'Sign up'}
        </button>
        <button
          type="button"
          className="link"
          onClick={() => {
            setMode(mode === 'login' ? 'register' : 'login');
            setError(null);
          }}
          data-testid="auth-switch"
        >
          {mode === 'login' ? 'No account yet? Sign up' : 'Have an account? Sign in'}
        </button>
      </form>
    </div>
  );
}
