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
  /** One readable sentence for a person: the server's words, plus rate-limit figures. */
  get readable(): string {
    let text = this.message || `The server answered ${this.status}`;
    if (this.status === 429) {
      const parts: string[] = [];
      if (this.limit?.remaining !== undefined && this.limit?.limit !== undefined) {
        parts.push(`${this.limit.remaining} of ${this.limit.limit} requests left`);
      }
      const wait = this.retryAfter ?? (this.limit?.reset !== undefined ? Number(this.limit.reset) : undefined);
      if (wait !== undefined && !Number.isNaN(wait)) parts.push(`try again in ${wait} s`);
      if (parts.length) text += ` (${parts.join('; ')})`;
    }
    return text;
  }
}

const TOKEN_KEY = 'youmeyou.token';
let token: string | null = localStorage.getItem(TOKEN_KEY);
let onUnauthenticated: ((message: string) => void) | null = null;

export function getToken(): string | null {
  return token;
}
export function setToken(t: string | null): void {
  token = t;
  if (t) localStorage.setItem(TOKEN_KEY, t);
  else localStorage.removeItem(TOKEN_KEY);
}
export function onAuthLost(handler: (message: string) => void): void {
  onUnauthenticated = handler;
}
/** `?access_token=` for the transports that cannot send headers (WebSocket, SSE). */
export function tokenQuery(prefix: '?' | '&'): string {
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
    if (res.status === 401 && onUnauthenticated && !path.startsWith('/api/auth/')) onUnauthenticated(err.message);
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
    json<{ events: StreamEvent[]; next: number }>(
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
