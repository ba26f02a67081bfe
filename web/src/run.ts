// A design run as the UI shows it, folded from the event stream in seq order.

import type { ExecutionState, StreamEvent, TaskInfo } from './api';

export type TaskStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled' | 'skipped';

export interface Segment {
  start: number;
  end?: number;
  outcome?: TaskStatus | 'restarted';
}

export interface TaskView extends TaskInfo {
  status: TaskStatus;
  progress?: string;
  result?: string;
  startedAt?: number;
  endedAt?: number;
  segments: Segment[];
  generationSeen: number;
  iteration?: number;
  filesGenerated?: number;
  modified: number;
  regenerating?: boolean;
}

export interface FeedLine {
  seq: number;
  ts: number;
  type: string;
  text: string;
  tone?: 'info' | 'good' | 'warn' | 'bad';
}

export interface RunView {
  executionId: string;
  request: string;
  route?: string;
  cache?: string;
  similarity?: number;
  intent?: { intent?: string; complexity?: number; target?: string; components?: string[] };
  status: 'starting' | 'running' | 'completed' | 'failed' | 'cancelled';
  tasks: Record<string, TaskView>;
  order: string[];
  firstTs?: number;
  lastTs?: number;
  feed: FeedLine[];
  summary?: Record<string, unknown>;
  maxParallel: number;
  lastSeq: number;
}

export function newRun(executionId: string, request: string, route?: string, cache?: string): RunView {
  return { executionId, request, route, cache, status: 'starting', tasks: {}, order: [], feed: [], maxParallel: 0, lastSeq: 0 };
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'skipped']);

/**
 * `final`: the tasks come from a finished run's state, where the server says
 * how each task ended; that wins over what the stream showed (a task the
 * stream left running, or one it never named, ends as the server recorded it).
 */
function taskFrom(t: TaskInfo, prior: TaskView | undefined, final: boolean, endTs: number | undefined): TaskView {
  const serverStatus = t.status as TaskStatus | undefined;
  const status = (final && serverStatus ? serverStatus : prior?.status ?? serverStatus ?? 'pending') as TaskStatus;
  let segments = prior?.segments ?? [];
  const open = segments[segments.length - 1];
  if (final && TERMINAL.has(status) && open && open.end === undefined && endTs !== undefined) {
    segments = [...segments.slice(0, -1), { ...open, end: endTs, outcome: status }];
  }
  return {
    ...t,
    dependencies: t.dependencies ?? [],
    status,
    segments,
    generationSeen: prior?.generationSeen ?? t.generation ?? 0,
    modified: prior?.modified ?? t.modifications ?? 0,
    progress: final && TERMINAL.has(status) ? (status === 'completed' ? undefined : t.error ?? prior?.progress) : prior?.progress,
    result: prior?.result || t.result,
    startedAt: prior?.startedAt,
    endedAt: prior?.endedAt,
  };
}

/** Adds the plan's tasks (from a planGenerated event or the state endpoint) without losing what streamed. */
export function withTasks(run: RunView, tasks: TaskInfo[], final = false): RunView {
  const next: Record<string, TaskView> = { ...run.tasks };
  const order = [...run.order];
  for (const t of tasks) {
    if (!order.includes(t.id)) order.push(t.id);
    const prior = next[t.id];
    const prompt = prior?.prompt && prior.modified > (t.modifications ?? 0) ? prior.prompt : t.prompt;
    next[t.id] = taskFrom({ ...t, prompt }, prior, final, run.lastTs);
  }
  return { ...run, tasks: next, order };
}

/**
 * The state endpoint folded into the view: a run opened after it started, or
 * one that just finished. A finished run's task statuses are the server's.
 */
export function fromState(run: RunView, s: ExecutionState): RunView {
  const final = s.status === 'completed' || s.status === 'failed' || s.status === 'cancelled';
  const r = withTasks(run, s.tasks ?? [], final);
  return { ...r, route: r.route ?? (s.route as string | undefined), cache: r.cache ?? (s.cache as string | undefined) };
}

const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));

function describe(e: StreamEvent, run: RunView): FeedLine | null {
  const name = (id: unknown) => run.tasks[str(id)]?.name ?? str(id);
  const line = (text: string, tone: FeedLine['tone'] = 'info'): FeedLine => ({ seq: e.seq, ts: e.ts, type: e.type, text, tone });
  switch (e.type) {
    case 'intentAnalyzed':
      return line(`Intent ${str(e.intent)}${e.complexity !== undefined ? ` · complexity ${Number(e.complexity).toFixed(2)}` : ''}`);
    case 'contextExtracted':
      return line(e.isEmpty ? 'Canvas is empty: designing from scratch' : `Read the canvas${e.nodeCount !== undefined ? ` (${str(e.nodeCount)} components)` : ''}`);
    case 'similarSolutionFound':
      return line(`Similar solution found (similarity ${Number(e.similarity).toFixed(2)}): used as the template`, 'good');
    case 'planGenerated':
      return line(`Plan: ${str(e.taskCount)} tasks${e.planner && e.planner !== 'builtin' ? ` by ${str(e.planner)}` : ''}`);
    case 'llmFallback':
      return line(
        `The model (${str(e.provider)} ${str(e.model)}) gave no ${e.taskId ? `result for ${name(e.taskId)}` : str(e.stage)}: ` +
          `the builtin engine did it${e.reason ? ` — ${str(e.reason)}` : ''}`,
        'warn',
      );
    case 'executionStarted':
      return line(`Execution started, ${str(e.parallelTasks)} in parallel`);
    case 'taskStarted':
      return line(`▶ ${name(e.taskId)}`);
    case 'taskCompleted':
      return line(`✓ ${name(e.taskId)}${e.result ? ` — ${str(e.result)}` : ''}`, 'good');
    case 'taskFailed':
      return line(`✗ ${name(e.taskId)}: ${str(e.error ?? e.message ?? e.reason)}`, 'bad');
    case 'taskSkipped':
      return line(`Skipped ${name(e.taskId)}${e.reason ? `: ${str(e.reason)}` : ''}`, 'warn');
    case 'taskCancelled':
      return line(`Stopped ${name(e.taskId)}${e.reason ? `: ${str(e.reason)}` : ''}`, 'warn');
    case 'bottlenecksIdentified':
      return line(`${str(e.count)} bottlenecks identified`, 'warn');
    case 'scalingPlanGenerated':
      return line(`Scaling plan: ${str(e.template ?? e.approach)}${e.variables ? ` (${str((e.variables as Record<string, unknown>).scaling_factor)})` : ''}`);
    case 'analysisCompleted':
      return line(`Analysis: ${str(e.recommendations)} recommendations`);
    case 'configurationGenerated':
      return line(`Configuration sized for ${str(e.newCapacity)}`, 'good');
    case 'componentReplaced':
      return line(`Replaced ${str(e.component)}${Array.isArray(e.added) ? `, added ${(e.added as string[]).length}` : ''}${e.accuracy !== undefined ? ` (accuracy ${str(e.accuracy)}%)` : ''}`, 'good');
    case 'scalingCompleted':
      return line(`Scaling completed: ${str(e.newRPS)} RPS, ${str(e.filesUpdated)} files`, 'good');
    case 'modificationValidated':
      return line(`Edit of ${name(e.taskId)} checked: allowed`);
    case 'impactAnalysis':
      return line(`Impact: ${(e.affectedTasks as string[] | undefined)?.length ?? 0} tasks affected`);
    case 'regenerationStarted':
      return line(`Regenerating ${Array.isArray(e.regenerate) ? (e.regenerate as string[]).length : str(e.affectedTasks)} tasks${Array.isArray(e.keep) && e.keep.length ? `, keeping ${(e.keep as string[]).length}` : ''}`, 'warn');
    case 'executionSummary':
      return line(e.success === false ? 'Summary of the unfinished run' : 'Run complete', e.success === false ? 'warn' : 'good');
    case 'executionFailed':
      return line(/^cancel/i.test(str(e.reason)) ? 'Run stopped' : `Run failed: ${str(e.error ?? e.message ?? e.reason)}`, 'bad');
    case 'error':
      return line(`Error: ${str(e.message)}`, 'bad');
    default:
      return null;
  }
}

// An event may name a task before the plan's details have been fetched: a
// placeholder keeps its status until withTasks fills in the rest.
function setTask(run: RunView, id: string, f: (t: TaskView) => TaskView, name?: string): RunView {
  if (!id) return run;
  let t = run.tasks[id];
  let order = run.order;
  if (!t) {
    t = { id, name: name || id, dependencies: [], prompt: '', status: 'pending', segments: [], generationSeen: 0, modified: 0 };
    order = [...order, id].sort((a, b) => (parseInt(a.replace(/\D/g, ''), 10) || 0) - (parseInt(b.replace(/\D/g, ''), 10) || 0));
  }
  return { ...run, order, tasks: { ...run.tasks, [id]: f(t) } };
}

/** A local change the stream does not carry: the prompt just applied. */
export function withPrompt(run: RunView, taskId: string, prompt: string): RunView {
  return setTask(run, taskId, (t) => ({ ...t, prompt }));
}

function closeSegment(t: TaskView, ts: number, outcome: Segment['outcome']): Segment[] {
  const segs = [...t.segments];
  const last = segs[segs.length - 1];
  if (last && last.end === undefined) segs[segs.length - 1] = { ...last, end: ts, outcome };
  return segs;
}

export function reduce(run0: RunView, e: StreamEvent): RunView {
  let run: RunView = { ...run0, lastSeq: e.seq, lastTs: e.ts, firstTs: run0.firstTs ?? e.ts };
  if (typeof e.cache === 'string' && !run.cache) run.cache = e.cache;
  const id = str(e.taskId);
  switch (e.type) {
    case 'intentAnalyzed':
      run.intent = {
        intent: e.intent as string,
        complexity: e.complexity as number | undefined,
        target: e.target as string | undefined,
        components: e.components as string[] | undefined,
      };
      if (typeof e.route === 'string') run.route = e.route;
      break;
    case 'similarSolutionFound':
      run.similarity = Number(e.similarity);
      break;
    case 'planGenerated':
      if (Array.isArray(e.tasks)) run = withTasks(run, e.tasks as TaskInfo[]);
      else if (Array.isArray(e.plan)) run = withTasks(run, e.plan as TaskInfo[]);
      if (typeof e.route === 'string') run.route = e.route;
      run.status = 'running';
      break;
    case 'executionStarted':
    case 'tasksStarted':
      run.status = 'running';
      break;
    case 'taskStarted':
      run = setTask(run, id, (t) => ({
        ...t,
        status: 'running',
        startedAt: e.ts,
        endedAt: undefined,
        progress: 'Started',
        result: undefined,
        regenerating: false,
        segments: [...closeSegment(t, e.ts, 'restarted'), { start: e.ts }],
      }), str(e.name));
      break;
    case 'taskProgress':
      run = setTask(run, id, (t) => ({ ...t, progress: str(e.progress) }));
      break;
    case 'iterationStarted':
      run = setTask(run, id, (t) => ({
        ...t,
        iteration: Number(e.iteration),
        progress: `Iteration ${str(e.iteration)}${e.focus ? `: ${str(e.focus).replace(/_/g, ' ')}` : ''}`,
      }));
      break;
    case 'iterationProgress':
      run = setTask(run, id, (t) => ({
        ...t,
        progress: str(e.progress),
        filesGenerated: e.filesGenerated !== undefined ? Number(e.filesGenerated) : t.filesGenerated,
      }));
      break;
    case 'taskCompleted':
      run = setTask(run, id, (t) => ({
        ...t,
        status: 'completed',
        endedAt: e.ts,
        result: str(e.result),
        progress: undefined,
        segments: closeSegment(t, e.ts, 'completed'),
      }));
      break;
    case 'taskFailed':
    case 'taskCancelled':
    case 'taskSkipped': {
      const status: TaskStatus = e.type === 'taskFailed' ? 'failed' : e.type === 'taskCancelled' ? 'cancelled' : 'skipped';
      run = setTask(run, id, (t) => ({
        ...t,
        status,
        endedAt: e.ts,
        progress: str(e.error ?? e.reason ?? e.message) || undefined,
        segments: closeSegment(t, e.ts, status),
      }));
      break;
    }
    case 'regenerationStarted': {
      if (typeof e.modificationCount === 'number') {
        run = setTask(run, id, (t) => ({ ...t, modified: Number(e.modificationCount) }));
      }
      const ids: string[] = Array.isArray(e.regenerate)
        ? (e.regenerate as string[])
        : Array.isArray(e.affectedTasks)
          ? (e.affectedTasks as string[])
          : [];
      const all = id && !ids.includes(id) ? [id, ...ids] : ids;
      for (const tid of all) {
        run = setTask(run, tid, (t) => ({
          ...t,
          regenerating: true,
          status: t.status === 'running' ? 'running' : 'pending',
          progress: 'Waiting to regenerate',
          segments: t.status === 'running' ? t.segments : closeSegment(t, e.ts, 'restarted'),
        }));
      }
      break;
    }
    case 'executionSummary':
      run.summary = { ...e } as Record<string, unknown>;
      run.status = e.success === false ? (run.status === 'cancelled' ? 'cancelled' : 'failed') : 'completed';
      break;
    case 'executionFailed':
      run.status = /^cancel/i.test(str(e.reason)) ? 'cancelled' : 'failed';
      break;
  }
  const running = Object.values(run.tasks).filter((t) => t.status === 'running').length;
  run.maxParallel = Math.max(run.maxParallel, running);
  const line = describe(e, run);
  if (line) run.feed = [...run.feed, line].slice(-200);
  return run;
}

export function isFinished(run: RunView): boolean {
  return run.status === 'completed' || run.status === 'failed' || run.status === 'cancelled';
}
