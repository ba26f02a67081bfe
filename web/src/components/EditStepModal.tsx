import { useEffect, useRef, useState } from 'react';
import { api, ApiError, type Impact } from '../api';
import type { TaskView } from '../run';
import Modal from './Modal';

interface Props {
  executionId: string;
  task: TaskView;
  tasks: Record<string, TaskView>;
  onClose: () => void;
  onApplied: (prompt: string) => void;
}

function errText(e: unknown): string {
  return e instanceof ApiError ? e.readable : (e as Error).message;
}

export default function EditStepModal({ executionId, task, tasks, onClose, onApplied }: Props) {
  const [original] = useState(task.prompt);
  const [prompt, setPrompt] = useState(task.prompt);
  const [impact, setImpact] = useState<Impact | null>(null);
  const [previewing, setPreviewing] = useState(false);
  const [applying, setApplying] = useState(false);
  const [error, setError] = useState<{ text: string; code?: string; status?: number } | null>(null);
  const seq = useRef(0);
  const changed = prompt.trim() !== original.trim() && prompt.trim() !== '';

  // Each change is previewed (debounced): the server's impact analysis, or its refusal.
  useEffect(() => {
    if (!changed) {
      setImpact(null);
      setError(null);
      return;
    }
    const mine = ++seq.current;
    setPreviewing(true);
    const t = setTimeout(async () => {
      try {
        const r = await api.previewModification(executionId, task.id, prompt);
        if (mine !== seq.current) return;
        setImpact(r.impact);
        setError(null);
      } catch (e) {
        if (mine !== seq.current) return;
        setImpact(null);
        setError({ text: errText(e), code: e instanceof ApiError ? e.code : undefined, status: e instanceof ApiError ? e.status : undefined });
      } finally {
        if (mine === seq.current) setPreviewing(false);
      }
    }, 350);
    return () => clearTimeout(t);
  }, [prompt, changed, executionId, task.id]);

  const apply = async () => {
    setApplying(true);
    try {
      await api.applyModification(executionId, task.id, prompt);
      onApplied(prompt);
    } catch (e) {
      setError({ text: errText(e), code: e instanceof ApiError ? e.code : undefined, status: e instanceof ApiError ? e.status : undefined });
    } finally {
      setApplying(false);
    }
  };

  const affected = impact?.affectedTasks ?? [];
  const unaffected = impact?.unaffectedTasks ?? [];
  const impacts = new Map((impact?.impacts ?? []).map((i) => [i.taskId, i]));
  const name = (id: string) => tasks[id]?.name ?? id;
  const extra = impact?.additionalTime;
  const cost = impact?.costIncrease;

  return (
    <Modal title={`Edit step · ${task.name}`} onClose={onClose} wide testId="edit-modal">
      <div className="edit-meta">
        <span className={`status-pill ${task.status}`}>{task.status}</span>
        <span className="muted">
          {task.id} · edited {task.modified} of 3 times
        </span>
      </div>
      <label className="field-label" htmlFor="step-prompt">
        Prompt
      </label>
      <textarea
        id="step-prompt"
        className="prompt-editor"
        value={prompt}
        onChange={(e) => setPrompt(e.target.value)}
        rows={5}
        data-testid="edit-prompt"
      />
      <div className="impact" data-testid="impact">
        {!changed && <div className="muted">Change the prompt to see what it would affect.</div>}
        {changed && previewing && !impact && !error && <div className="muted">Analysing the impact…</div>}
        {error && (
          <div className="alert bad" role="alert" data-testid="edit-error" data-code={error.code ?? ''} data-status={error.status ?? ''}>
            <b>Not allowed.</b> {error.text}
          </div>
        )}
        {impact && !error && (
          <>
            <div className="impact-headline" data-testid="impact-headline">
              This change affects <b>{affected.length}</b> task{affected.length === 1 ? '' : 's'}
              {extra !== undefined && (
                <>
                  {' '}
                  and adds about <b>{Math.round(Number(extra))} s</b>
                </>
              )}
              {cost !== undefined && (
                <>
                  {' '}
                  (+<b>${Number(cost) > 0 && Number(cost) < 0.01 ? Number(cost).toFixed(4) : Number(cost).toFixed(2)}</b>)
                </>
              )}
              .{' '}
              {unaffected.length > 0 && <>{unaffected.map(name).join(', ')} continue unchanged.</>}
            </div>
            <div className="impact-lists">
              <div>
                <div className="impact-col-title">Regenerated</div>
                <ul className="impact-list" data-testid="impact-affected">
                  <li className="impact-item impact-self">
                    <span className="chip chip-impact">EDITED</span> {task.name}
                  </li>
                  {affected.map((id) => (
                    <li key={id} className="impact-item" data-task={id}>
                      <span className={`chip ${impacts.get(id)?.impact === 'MINOR IMPACT' ? 'chip-minor' : 'chip-impact'}`}>
                        {impacts.get(id)?.impact ?? 'IMPACT'}
                      </span>{' '}
                      {name(id)}
                      {impacts.get(id)?.reason && <div className="impact-reason">{impacts.get(id)?.reason}</div>}
                    </li>
                  ))}
                </ul>
              </div>
              <div>
                <div className="impact-col-title">Unchanged</div>
                <ul className="impact-list" data-testid="impact-unaffected">
                  {unaffected.length === 0 && <li className="muted">none</li>}
                  {unaffected.map((id) => (
                    <li key={id} className="impact-item" data-task={id}>
                      <span className="chip chip-none">NO IMPACT</span> {name(id)}
                      {impacts.get(id)?.reason && <div className="impact-reason">{impacts.get(id)?.reason}</div>}
                    </li>
                  ))}
                </ul>
              </div>
            </div>
          </>
        )}
      </div>
      <div className="modal-actions">
        <button className="btn ghost" onClick={onClose}>
          Cancel
        </button>
        <button
          className="btn primary"
          onClick={apply}
          disabled={!changed || !impact || !!error || applying || previewing}
          data-testid="confirm-edit"
        >
          {applying ? 'Applying…' : 'Yes, proceed'}
        </button>
      </div>
    </Modal>
  );
}
