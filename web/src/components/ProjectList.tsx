import { useEffect, useRef, useState } from 'react';
import { api, ApiError, type Canvas, type Project } from '../api';
import Modal from './Modal';

function errText(e: unknown): string {
  return e instanceof ApiError ? e.readable : String(e);
}

function when(ms: number): string {
  const d = new Date(ms);
  return d.toLocaleDateString('en', { month: 'short', day: 'numeric' }) + ', ' + d.toLocaleTimeString('en', { hour: '2-digit', minute: '2-digit' });
}

export default function ProjectList({ onOpen, onError }: { onOpen: (id: string) => void; onError: (m: string) => void }) {
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [canvas, setCanvas] = useState<Canvas | null>(null);
  const [fileName, setFileName] = useState('');
  const [formError, setFormError] = useState<string | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    api.projects().then(
      (r) => setProjects([...r.projects].sort((a, b) => b.createdAt - a.createdAt)),
      (e) => {
        setProjects([]);
        onError(`Could not list the projects: ${errText(e)}`);
      },
    );
  }, [onError]);

  const readFile = async (f: File | undefined) => {
    setFormError(null);
    if (!f) return;
    try {
      const parsed = JSON.parse(await f.text());
      const c = parsed.canvas ?? parsed;
      if (!Array.isArray(c.nodes) || !Array.isArray(c.edges)) throw new Error('expected {"nodes": [...], "edges": [...]}');
      setCanvas(c);
      setFileName(f.name);
      if (!name) setName(f.name.replace(/\.canvas\.json$|\.json$/, ''));
    } catch (e) {
      setCanvas(null);
      setFormError(`${f.name} is not a canvas: ${(e as Error).message}`);
    }
  };

  const create = async () => {
    try {
      const p = await api.createProject(name.trim(), canvas ?? undefined);
      onOpen(p.id);
    } catch (e) {
      setFormError(errText(e));
    }
  };

  return (
    <div className="projects-page">
      <div className="projects-head">
        <div>
          <h1>Projects</h1>
          <div className="muted">Each project keeps its canvas, version by version.</div>
        </div>
        <button className="btn primary" onClick={() => setCreating(true)} data-testid="new-project">
          + New project
        </button>
      </div>
      {projects === null && <div className="muted">Loading…</div>}
      {projects && projects.length === 0 && (
        <div className="hero" data-testid="projects-empty">
          <div className="hero-art" aria-hidden="true">
            <span className="ha ha1" />
            <span className="ha ha2" />
            <span className="ha ha3" />
            <span className="ha ha4" />
          </div>
          <h2>Design your first system</h2>
          <p className="muted">
            Say what you want to build — “Build a complete e-commerce platform with user auth, product catalog, shopping cart,
            and payment processing” — and watch the plan run, the architecture appear and the code arrive.
          </p>
          <button className="btn primary big" onClick={() => setCreating(true)}>
            Start a project
          </button>
        </div>
      )}
      {projects && projects.length > 0 && (
        <div className="project-grid">
          {projects.map((p) => (
            <button key={p.id} className="project-card" onClick={() => onOpen(p.id)} data-testid="project-card">
              <div className="project-card-name">{p.name}</div>
              <div className="muted small-text">
                version {p.version} · created {when(p.createdAt)}
              </div>
            </button>
          ))}
        </div>
      )}
      {creating && (
        <Modal title="New project" onClose={() => setCreating(false)} testId="new-project-modal">
          <label className="field-label" htmlFor="project-name">
            Name
          </label>
          <input
            id="project-name"
            className="input"
            value={name}
            autoFocus
            onChange={(e) => setName(e.target.value)}
            onKeyDown={(e) => e.key === 'Enter' && name.trim() && void create()}
            placeholder="e.g. Shop"
            data-testid="project-name-input"
          />
          <label className="field-label">Start from</label>
          <div className="start-from">
            <button className={`choice${canvas ? '' : ' active'}`} onClick={() => { setCanvas(null); setFileName(''); }}>
              <b>An empty canvas</b>
              <span className="muted">Describe the system and let the plan build it.</span>
            </button>
            <button className={`choice${canvas ? ' active' : ''}`} onClick={() => fileRef.current?.click()}>
              <b>{fileName ? fileName : 'A canvas file…'}</b>
              <span className="muted">{canvas ? `${canvas.nodes.length} components, ${canvas.edges.length} connections` : 'Import a saved design (JSON).'}</span>
            </button>
            <input ref={fileRef} type="file" accept=".json,application/json" hidden onChange={(e) => void readFile(e.target.files?.[0])} data-testid="canvas-file" />
          </div>
          {formError && <div className="alert bad" role="alert">{formError}</div>}
          <div className="modal-actions">
            <button className="btn ghost" onClick={() => setCreating(false)}>
              Cancel
            </button>
            <button className="btn primary" disabled={!name.trim()} onClick={() => void create()} data-testid="create-project">
              Create project
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}
