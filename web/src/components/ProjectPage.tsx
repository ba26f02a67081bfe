import { addEdge, applyEdgeChanges, applyNodeChanges, type Connection, type Edge, type EdgeChange, type NodeChange } from '@xyflow/react';
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, type Canvas, type Project, type StreamEvent } from '../api';
import {
  applyUpdate,
  clearHighlights,
  fromFlow,
  layout,
  needsLayout,
  toFlow,
  type CanvasUpdate,
  type DesignNode,
  type Highlight,
} from '../canvas';
import { fromState, isFinished, newRun, reduce, withPrompt, withTasks, type RunView } from '../run';
import { ExecutionStream, type ConnectionState } from '../stream';
import AccountMenu from './AccountMenu';
import CanvasView from './CanvasView';
import ChatPanel from './ChatPanel';
import ConnectionBadge from './ConnectionBadge';
import EditStepModal from './EditStepModal';
import ExportModal, { FORMATS } from './ExportModal';
import FilesModal from './FilesModal';
import Inspector from './Inspector';
import PlanPanel from './PlanPanel';
import SummaryPanel from './SummaryPanel';

interface Graph {
  nodes: DesignNode[];
  edges: Edge[];
}

declare global {
  interface Window {
    __ymy?: {
      stream: () => ExecutionStream | null;
      run: () => RunView | null;
      graph: () => Graph;
    };
  }
}

const lastRunKey = (projectId: string) => `youmeyou.lastRun.${projectId}`;

function errText(e: unknown): string {
  return e instanceof ApiError ? e.readable : e instanceof Error ? e.message : String(e);
}

function laidOut(g: Graph): Graph {
  return needsLayout(g.nodes) ? { ...g, nodes: layout(g.nodes, g.edges) } : g;
}

interface Props {
  projectId: string;
  onBack: () => void;
  onError: (m: string) => void;
  onSignOut: () => void;
}

export default function ProjectPage({ projectId, onBack, onError, onSignOut }: Props) {
  const [project, setProject] = useState<Project | null>(null);
  const [missing, setMissing] = useState<string | null>(null);
  const [graph, setGraph] = useState<Graph>({ nodes: [], edges: [] });
  const [dirty, setDirty] = useState(false);
  const [saving, setSaving] = useState(false);
  const [fitKey, setFitKey] = useState(0);
  const [runs, setRuns] = useState<RunView[]>([]);
  const [conn, setConn] = useState<ConnectionState | null>(null);
  const [now, setNow] = useState(Date.now());
  const [editTask, setEditTask] = useState<string | null>(null);
  const [filesFor, setFilesFor] = useState<string | null>(null);
  const [exportFormat, setExportFormat] = useState<string | null>(null);
  const [exportOpen, setExportOpen] = useState(false);
  const [tab, setTab] = useState<'inspector' | 'summary'>('inspector');
  const [pace, setPace] = useState(0.02);
  const [useCache, setUseCache] = useState(true);
  const [submitting, setSubmitting] = useState(false);
  const [toast, setToast] = useState<string | null>(null);
  const streamRef = useRef<ExecutionStream | null>(null);
  const skew = useRef(0);
  const replaying = useRef(new Set<string>());
  const graphRef = useRef(graph);
  graphRef.current = graph;
  const runsRef = useRef(runs);
  runsRef.current = runs;

  const run = runs.length ? runs[runs.length - 1] : null;
  const running = !!run && !isFinished(run);

  const flash = (m: string) => {
    setToast(m);
    setTimeout(() => setToast((t) => (t === m ? null : t)), 2500);
  };

  const updateRun = useCallback((id: string, f: (r: RunView) => RunView) => {
    setRuns((rs) => rs.map((r) => (r.executionId === id ? f(r) : r)));
  }, []);

  // The final canvas (saved by the server as the project's next version):
  // drawn with what is new or changed since the run began highlighted.
  const adoptFinal = useCallback(async (executionId: string) => {
    try {
      const state = await api.execution(executionId);
      updateRun(executionId, (r) => fromState(r, state));
      const summary = state.summary as { canvas?: Canvas; canvasVersion?: number } | null;
      if (summary?.canvas && !replaying.current.has(executionId)) {
        setGraph((g) => {
          const finalIds = new Set(summary.canvas!.nodes.map((n) => n.id));
          const removed = g.nodes.filter((n) => !finalIds.has(n.id)).map((n) => n.id);
          const { nodes, edges } = applyUpdate(g.nodes, [], summary.canvas, removed);
          return { nodes: layout(nodes, edges), edges };
        });
        setFitKey((k) => k + 1);
      }
      if (summary?.canvasVersion) {
        setProject((p) => (p ? { ...p, version: Number(summary.canvasVersion) } : p));
        setDirty(false);
      }
    } catch (e) {
      onError(`Could not read the finished run: ${errText(e)}`);
    }
  }, [onError, updateRun]);

  const onEvent = useCallback(
    (e: StreamEvent) => {
      if (!skew.current) skew.current = Date.now() - e.ts;
      updateRun(e.executionId, (r) => reduce(r, e));
      // The plan's tasks come with planGenerated; a server that does not send
      // them (one older than this app) is asked for its state instead.
      if (e.type === 'planGenerated' && !Array.isArray(e.tasks)) {
        api.execution(e.executionId).then(
          (s) => updateRun(e.executionId, (r) => withTasks(r, s.tasks ?? [])),
          (err) => onError(`Could not read the plan: ${errText(err)}`),
        );
      }
      if (e.type === 'taskCompleted' && (e.canvasUpdate || e.removeNodes) && !replaying.current.has(e.executionId)) {
        setGraph((g) => {
          const { nodes, edges } = applyUpdate(g.nodes, g.edges, e.canvasUpdate as CanvasUpdate, e.removeNodes as string[]);
          return { nodes: layout(nodes, edges), edges };
        });
        setFitKey((k) => k + 1);
      }
      if (e.type === 'executionSummary') {
        void adoptFinal(e.executionId);
        if (e.type === 'executionSummary') setTab('summary');
      }
    },
    [adoptFinal, onError, updateRun],
  );

  const follow = useCallback(
    (executionId: string) => {
      streamRef.current?.stop();
      const s = new ExecutionStream(executionId, 0, onEvent, setConn);
      streamRef.current = s;
      s.start();
    },
    [onEvent],
  );

  // Load the project, and the last run made on it in this browser.
  useEffect(() => {
    let live = true;
    api.project(projectId).then(
      async (p) => {
        if (!live) return;
        setProject(p);
        setGraph(laidOut(toFlow(p.canvas ?? { nodes: [], edges: [] })));
        setFitKey((k) => k + 1);
        const last = localStorage.getItem(lastRunKey(projectId));
        if (last) {
          try {
            const [id, request] = JSON.parse(last) as [string, string];
            const state = await api.execution(id);
            if (!live) return;
            replaying.current.add(id);
            setRuns([fromState(newRun(id, request, state.route as string), state)]);
            follow(id);
          } catch {
            localStorage.removeItem(lastRunKey(projectId));
          }
        }
      },
      (e) => {
        // Another account's project answers 404 just as a deleted one does.
        if (e instanceof ApiError && e.status === 404) setMissing(e.readable);
        else onError(`Could not open the project: ${errText(e)}`);
      },
    );
    return () => {
      live = false;
      streamRef.current?.stop();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [projectId]);

  // Test hooks (the browser tests read the stream's delivery record).
  useEffect(() => {
    window.__ymy = { stream: () => streamRef.current, run: () => runsRef.current[runsRef.current.length - 1] ?? null, graph: () => graphRef.current };
  }, []);

  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), 200);
    return () => clearInterval(t);
  }, [running]);

  const saveCanvas = async (): Promise<number | null> => {
    if (!project) return null;
    setSaving(true);
    try {
      const r = await api.saveCanvas(project.id, fromFlow(graph.nodes, graph.edges));
      setProject({ ...project, version: r.version });
      setDirty(false);
      flash(`Saved as version ${r.version}`);
      return r.version;
    } catch (e) {
      onError(`Could not save the canvas: ${errText(e)}`);
      return null;
    } finally {
      setSaving(false);
    }
  };

  const submit = async (request: string) => {
    if (!project) return;
    setSubmitting(true);
    try {
      if (dirty && (await saveCanvas()) === null) return;
      const started = await api.design({ request, projectId: project.id, options: { simulateLatency: pace, cache: useCache } });
      localStorage.setItem(lastRunKey(project.id), JSON.stringify([started.executionId, request]));
      setGraph((g) => ({ ...g, nodes: clearHighlights(g.nodes) }));
      skew.current = 0;
      setRuns((rs) => [...rs, newRun(started.executionId, request, started.route, started.cache)]);
      setTab('inspector');
      follow(started.executionId);
    } catch (e) {
      onError(`The request was not accepted: ${errText(e)}`);
    } finally {
      setSubmitting(false);
    }
  };

  const onNodesChange = useCallback((changes: NodeChange<DesignNode>[]) => {
    if (changes.some((c) => c.type === 'remove' || (c.type === 'position' && c.dragging === false))) setDirty(true);
    setGraph((g) => ({ ...g, nodes: applyNodeChanges(changes, g.nodes) }));
  }, []);
  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    if (changes.some((c) => c.type === 'remove')) setDirty(true);
    setGraph((g) => ({ ...g, edges: applyEdgeChanges(changes, g.edges) }));
  }, []);
  const onConnect = useCallback((c: Connection) => {
    setDirty(true);
    setGraph((g) => ({
      ...g,
      edges: addEdge({ ...c, id: `e-${c.source}-${c.target}-${Date.now().toString(36)}`, data: { kind: 'api-call' } }, g.edges),
    }));
  }, []);
  const onAdd = (type: string) => {
    setGraph((g) => {
      let n = 1;
      while (g.nodes.some((x) => x.id === `${type.replace('_', '-')}-${n}`)) n++;
      const id = `${type.replace('_', '-')}-${n}`;
      const maxX = g.nodes.reduce((m, x) => Math.max(m, x.position.x), -240);
      const minY = g.nodes.reduce((m, x) => Math.min(m, x.position.y), 0);
      const label = `New ${type.replace('_', ' ')}${n > 1 ? ` ${n}` : ''}`;
      const node: DesignNode = {
        id,
        type: 'design',
        position: { x: maxX + 240, y: minY },
        selected: true,
        data: { label: label.charAt(0).toUpperCase() + label.slice(1), kind: type, config: {} },
      };
      return { ...g, nodes: [...g.nodes.map((x) => ({ ...x, selected: false })), node] };
    });
    setDirty(true);
    setTab('inspector');
    setFitKey((k) => k + 1);
  };
  const onDeleteSelected = () => {
    setGraph((g) => {
      const gone = new Set(g.nodes.filter((n) => n.selected).map((n) => n.id));
      return {
        nodes: g.nodes.filter((n) => !gone.has(n.id)),
        edges: g.edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target)),
      };
    });
    setDirty(true);
  };
  const onRename = (id: string, label: string) => {
    setGraph((g) => ({ ...g, nodes: g.nodes.map((n) => (n.id === id ? { ...n, data: { ...n.data, label } } : n)) }));
    setDirty(true);
  };

  const selected = graph.nodes.find((n) => n.selected) ?? null;
  const serverNow = now - skew.current;
  const highlighted = graph.nodes.reduce<Record<Highlight, number>>(
    (m, n) => (n.data.highlight ? { ...m, [n.data.highlight]: m[n.data.highlight] + 1 } : m),
    { new: 0, changed: 0 },
  );

  if (missing) {
    return (
      <div className="shell">
        <header className="topbar">
          <div className="topbar-left">
            <button className="btn ghost small" onClick={onBack} data-testid="back">
              ← Projects
            </button>
          </div>
          <AccountMenu onSignOut={onSignOut} />
        </header>
        <div className="not-found" data-testid="project-not-found" role="alert">
          <div className="not-found-title">Project not found</div>
          <p className="muted">
            There is no project <code>{projectId}</code> in your account: it may have been deleted, or it belongs to someone
            else.
          </p>
          <p className="muted small-text">The server said: {missing}</p>
          <button className="btn primary" onClick={onBack}>
            Back to your projects
          </button>
        </div>
      </div>
    );
  }

  return (
    <div className="project-page">
      <header className="topbar">
        <div className="topbar-left">
          <button className="btn ghost small" onClick={onBack} data-testid="back">
            ← Projects
          </button>
          <div className="project-name" data-testid="project-name">
            {project?.name ?? '…'}
          </div>
          {project && <span className="version-pill">version {project.version}</span>}
          {(highlighted.new > 0 || highlighted.changed > 0) && (
            <span className="legend" data-testid="highlight-legend">
              {highlighted.new > 0 && <span className="legend-new">{highlighted.new} new</span>}
              {highlighted.changed > 0 && <span className="legend-changed">{highlighted.changed} changed</span>}
            </span>
          )}
        </div>
        <div className="topbar-right">
          <ConnectionBadge state={conn} />
          {run && (
            <button className="btn small ghost" onClick={() => setFilesFor(run.executionId)} data-testid="files-button">
              Files
            </button>
          )}
          <div className="menu-wrap">
            <button className="btn small ghost" onClick={() => setExportOpen((v) => !v)} data-testid="export-button">
              Export ▾
            </button>
            {exportOpen && (
              <div className="menu" onMouseLeave={() => setExportOpen(false)}>
                {FORMATS.map((f) => (
                  <button
                    key={f.id}
                    className="menu-item"
                    data-testid={`export-${f.id}`}
                    onClick={() => {
                      setExportOpen(false);
                      if (dirty) flash('Showing the saved version: save to include your edits');
                      setExportFormat(f.id);
                    }}
                  >
                    {f.label}
                  </button>
                ))}
              </div>
            )}
          </div>
          <AccountMenu onSignOut={onSignOut} />
        </div>
      </header>
      <div className="workspace">
        <aside className="left">
          <ChatPanel
            runs={runs}
            busy={submitting || running}
            pace={pace}
            useCache={useCache}
            onPace={setPace}
            onUseCache={setUseCache}
            onSubmit={submit}
          />
        </aside>
        <main className="center">
          <div className="canvas-area">
            <CanvasView
              nodes={graph.nodes}
              edges={graph.edges}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onConnect={onConnect}
              onAdd={onAdd}
              onDeleteSelected={onDeleteSelected}
              onLayout={() => {
                setGraph((g) => ({ ...g, nodes: layout(g.nodes, g.edges) }));
                setDirty(true);
                setFitKey((k) => k + 1);
              }}
              onSave={() => void saveCanvas()}
              dirty={dirty}
              saving={saving}
              version={project?.version ?? 0}
              fitKey={fitKey}
              busy={running}
            />
          </div>
          <PlanPanel
            run={run}
            now={serverNow}
            onEdit={setEditTask}
            onCancel={() =>
              run &&
              api.cancel(run.executionId).catch((e) => {
                // 409: it finished before the click arrived; its summary is on its way.
                if (e instanceof ApiError && e.status === 409) return;
                onError(`Could not stop the run: ${errText(e)}`);
              })
            }
          />
        </main>
        <aside className="right">
          <div className="tabs">
            <button className={`tab${tab === 'inspector' ? ' active' : ''}`} onClick={() => setTab('inspector')} data-testid="tab-inspector">
              Component
            </button>
            <button className={`tab${tab === 'summary' ? ' active' : ''}`} onClick={() => setTab('summary')} data-testid="tab-summary">
              Summary
            </button>
          </div>
          <div className="tab-body">
            {tab === 'inspector' ? (
              <Inspector node={selected} nodes={graph.nodes} edges={graph.edges} onRename={onRename} />
            ) : (
              <SummaryPanel run={run} onFiles={() => run && setFilesFor(run.executionId)} />
            )}
          </div>
        </aside>
      </div>
      {toast && <div className="toast">{toast}</div>}
      {editTask && run && run.tasks[editTask] && (
        <EditStepModal
          executionId={run.executionId}
          task={run.tasks[editTask]}
          tasks={run.tasks}
          onClose={() => setEditTask(null)}
          onApplied={(prompt) => {
            updateRun(run.executionId, (r) => withPrompt(r, editTask, prompt));
            setEditTask(null);
            flash('Edit applied: regenerating the affected tasks');
          }}
        />
      )}
      {filesFor && <FilesModal executionId={filesFor} onClose={() => setFilesFor(null)} />}
      {exportFormat && project && <ExportModal projectId={project.id} format={exportFormat} onClose={() => setExportFormat(null)} />}
    </div>
  );
}
