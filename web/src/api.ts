// The HTTP API of `youmeyou serve` (README.md, DESIGN.md). Every call goes
// through `request`, which attaches the bearer token when signed in and turns
// every non-2xx answer into an ApiError carrying the server's own words.

export interface CanvasNode {
  id: string;
  type: string;
  label?: string;
  position?: { x: number; y: number };
  config?: Record<string, unknown>;
}
export interface CanvasEdge {
  id: string;
  source: string;
  target: string;
  type?: string;
}
export interface Canvas {
  nodes: CanvasNode[];
  edges: CanvasEdge[];
}
export interface Project {
  id: string;
  name: string;
  createdAt: number;
  version: number;
  canvas?: Canvas;
}
export interface TaskInfo {
  id: string;
  name: string;
  description?: string;
  type?: string;
  dependencies: string[];
  estimatedTime?: number;
  agent?: string;
  prompt: string;
  status?: string;
  result?: string;
  error?: string;
  generation?: number;
  modifications?: number;
}
export interface DesignStarted {
  executionId: string;
  route: string;
  cache: string;
  stream: string;
}
export interface ExecutionState {
  executionId?: string;
  id?: string;
  status: string;
  request?: string;
  route?: string;
  cache?: string;
  intent?: Record<string, unknown>;
  tasks: TaskInfo[];
  summary: Record<string, unknown> | null;
  lastSeq: number;
  [k: string]: unknown;
}
export interface Impact {
  affectedTasks?: string[];
  unaffectedTasks?: string[];
  impacts?: { taskId: string; impact: string; reason?: string }[];
  additionalTime?: number;
  costIncrease?: number;
  [k: string]: unknown;
}
export interface FileEntry {
  path: string;
  size: number;
}

/** What each tier permission lets a person do, in words for tooltips and refusals. */
export const PERMISSIONS: Record<string, string> = {
  'projects:read': 'opening projects',
  'projects:write': 'creating and saving projects',
  'design:run': 'running designs',
  'design:modify': 'editing a step',
  'files:export': 'downloading the files as a zip',
  'admin:cache': 'managing the cache',
  'admin:tiers': 'managing tiers',
  'llm:configure': 'configuring the model',
};

/** A message standing alone, as a sentence: "invalid email or password" -> "Invalid email or password." */
export function sentence(text: string): string {
  const t = text.trim();
  return t ? t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?)]$/.test(t) ? '' : '.') : t;
}

/** "3 s", "4 min", "5 h 12 min": a wait as a person says it. */
export function humanDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 90) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${h} h ${m} min` : `${h} h`;
}

export class ApiError extends Error {
  status: number;
  code: string;
  retryAfter?: number;
  limit?: { limit?: string; remaining?: string; reset?: string };
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
  /** Seconds to wait before trying again (429): Retry-After, else RateLimit-Reset. */
  get waitSeconds(): number | undefined {
    const wait = this.retryAfter ?? (this.limit?.reset !== undefined ? Number(this.limit.reset) : undefined);
    return wait === undefined || Number.isNaN(wait) ? undefined : wait;
  }
  /**
   * One readable sentence for a person: the server's words, and for a 429 the
   * wait from Retry-After in minutes or hours when it is long (the server's
   * message counts it in seconds), with the clock time it ends.
   */
  get readable(): string {
    let text = this.message || `The server answered ${this.status}`;
    if (this.status === 429) {
      const wait = this.waitSeconds;
      text = text.replace(/;?\s*try again in \d+ ?(s|min|h)\.?$/i, '');
      if (wait !== undefined) {
        const at = wait >= 120 ? ` (at ${new Date(Date.now() + wait * 1000).toLocaleTimeString('en', { hour: '2-digit', minute: '2-digit' })})` : '';
        text += `. Try again in ${humanDuration(wait)}${at}.`;
      }
    } else if (this.status === 403) {
      // "the free tier does not include design:modify" -> "... include editing a step (design:modify)"
      text = text.replace(/does not include ([a-z]+:[a-z]+)/, (all, p: string) =>
        PERMISSIONS[p] ? `does not include ${PERMISSIONS[p]} (${p})` : all);
    }
    return text;
  }
}

// The signed-in session: the bearer token with the email and tier it was
// issued for. Kept in sessionStorage, not localStorage: the token is a bearer
// credential that the server cannot revoke before it expires (signing out only
// forgets it here), so it should live no longer than the tab that signed in;
// a reload keeps it, closing the tab (or the browser) ends it, and it is never
// shared with other tabs or left behind on a shared computer. The cost, signing
// in again in a new tab, is small next to a credential that outlives the tab.
export interface StoredSession {
  token: string;
  email: string;
  userId: string;
  tier: string;
}
const SESSION_KEY = 'youmeyou.session';

function loadSession(): StoredSession | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
    return s && typeof s.token === 'string' ? (s as StoredSession) : null;
  } catch {
    return null;
  }
}

let session: StoredSession | null = loadSession();
let onUnauthenticated: ((message: string) => void) | null = null;

export function getToken(): string | null {
  return session?.token ?? null;
}
export function getStoredSession(): StoredSession | null {
  return session;
}
export function setSession(s: StoredSession | null): void {
  session = s;
  if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(SESSION_KEY);
}
/** Called with the server's words when an authenticated call answers 401. */
export function onAuthLost(handler: (message: string) => void): void {
  onUnauthenticated = handler;
}
/** `?access_token=` for the transports that cannot send headers (WebSocket, SSE). */
export function tokenQuery(prefix: '?' | '&'): string {
  const token = getToken();
  return token ? `${prefix}access_token=${encodeURIComponent(token)}` : '';
}

async function toError(res: Response): Promise<ApiError> {
  let code = 'http_' + res.status;
  let message = `${res.status} ${res.statusText}`.trim();
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text);
    if (body && body.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
    }
  } catch {
    if (text.trim()) message = text.trim().slice(0, 300);
  }
  const err = new ApiError(res.status, code, message);
  const retry = res.headers.get('Retry-After');
  if (retry !== null && retry !== '') err.retryAfter = Number(retry);
  const limit = res.headers.get('RateLimit-Limit');
  if (limit !== null) {
    err.limit = {
      limit,
      remaining: res.headers.get('RateLimit-Remaining') ?? undefined,
      reset: res.headers.get('RateLimit-Reset') ?? undefined,
    };
  }
  return err;
}

export async function request(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const token = getToken();
  if (token) headers['Authorization'] = `Bearer ${token}`;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'network', `Cannot reach the server (${(e as Error).message})`);
  }
  if (!res.ok) {
    const err = await toError(res);
    // A 401 anywhere but signing in means the token is gone or expired: back to sign-in.
    if (res.status === 401 && token && token === getToken() && onUnauthenticated && !path.startsWith('/api/auth/')) {
      onUnauthenticated(err.message);
    }
    throw err;
  }
  return res;
}

async function json<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await request(method, path, body, signal);
  return (await res.json()) as T;
}

export const api = {
  authConfig: async (): Promise<{ auth: 'on' | 'off' }> => {
    try {
      return await json('GET', '/api/auth/config');
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return { auth: 'off' };
      throw e;
    }
  },
  register: (email: string, password: string) =>
    json<{ userId: string; token: string; tier: string }>('POST', '/api/auth/register', { email, password }),
  login: (email: string, password: string) =>
    json<{ userId: string; token: string; tier: string }>('POST', '/api/auth/login', { email, password }),
  /** The token's user, tier and permissions (["*"] when accounts are off). */
  validate: () => json<{ userId: string; tier: string; permissions: string[] }>('POST', '/session/validate'),
  projects: () => json<{ projects: Project[] }>('GET', '/api/projects'),
  createProject: (name: string, canvas?: Canvas) =>
    json<Project>('POST', '/api/projects', canvas ? { name, canvas } : { name }),
  project: (id: string) => json<Project>('GET', `/api/projects/${encodeURIComponent(id)}`),
  saveCanvas: (id: string, canvas: Canvas) =>
    json<{ projectId: string; version: number }>('PUT', `/api/projects/${encodeURIComponent(id)}/canvas`, { canvas }),
  canvasVersion: (id: string, version: number) =>
    json<Canvas>('GET', `/api/projects/${encodeURIComponent(id)}/canvas?version=${version}`),
  exportCanvas: async (id: string, format: string): Promise<string> => {
    const res = await request('GET', `/api/projects/${encodeURIComponent(id)}/export?format=${format}`);
    return res.text();
  },
  design: (body: { request: string; projectId?: string; canvas?: Canvas; options?: Record<string, unknown> }) =>
    json<DesignStarted>('POST', '/api/design', body),
  execution: (id: string) => json<ExecutionState>('GET', `/api/executions/${encodeURIComponent(id)}`),
  events: (id: string, after: number, wait: number, signal?: AbortSignal) =>
    json<{ events: StreamEvent[]; next: number; finished?: boolean }>(
      'GET',
      `/api/executions/${encodeURIComponent(id)}/events?after=${after}&wait=${wait}`,
      undefined,
      signal,
    ),
  cancel: (id: string) => json<unknown>('POST', `/api/executions/${encodeURIComponent(id)}/cancel`),
  files: (id: string) => json<{ files: FileEntry[] }>('GET', `/api/executions/${encodeURIComponent(id)}/files`),
  file: async (id: string, path: string): Promise<string> => {
    const res = await request(
      'GET',
      `/api/executions/${encodeURIComponent(id)}/files/${path.split('/').map(encodeURIComponent).join('/')}`,
    );
    return res.text();
  },
  zip: async (id: string): Promise<Blob> => {
    const res = await request('GET', `/api/executions/${encodeURIComponent(id)}/files?format=zip`);
    return res.blob();
  },
  previewModification: (id: string, taskId: string, prompt: string) =>
    json<{ allowed: boolean; impact: Impact }>(
      'POST',
      `/api/executions/${encodeURIComponent(id)}/tasks/${encodeURIComponent(taskId)}/modifications/preview`,
      { prompt },
    ),
  applyModification: (id: string, taskId: string, prompt: string) =>
    json<{ applied: boolean; impact: Impact }>(
      'POST',
      `/api/executions/${encodeURIComponent(id)}/tasks/${encodeURIComponent(taskId)}/modifications`,
      { prompt },
    ),
};

export interface StreamEvent {
  type: string;
  executionId: string;
  seq: number;
  ts: number;
  [k: string]: unknown;
}
