import { isFinished, type RunView, type TaskView } from '../run';
import { useAccess } from '../session';
import { LockIcon } from './icons';

function fmtSeconds(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.floor(ms / 60_000)} m ${Math.round((ms % 60_000) / 1000)} s`;
}

const STATUS_TEXT: Record<string, string> = {
  pending: 'Waiting',
  running: 'Running',
  completed: 'Done',
  failed: 'Failed',
  cancelled: 'Stopped',
  skipped: 'Skipped',
};

function elapsed(t: TaskView, now: number): number | null {
  if (t.segments.length === 0) return null;
  const last = t.segments[t.segments.length - 1];
  return (last.end ?? now) - last.start;
}

interface Props {
  run: RunView | null;
  now: number;
  onEdit: (taskId: string) => void;
  onCancel: () => void;
}

export default function PlanPanel({ run, now, onEdit, onCancel }: Props) {
  const editDenied = useAccess().denied('design:modify');
  if (!run || run.order.length === 0) {
    return (
      <div className="plan plan-empty" data-testid="plan">
        <div className="plan-empty-text">
          {run ? 'Planning…' : 'The plan appears here: every task, its dependencies and a live timeline.'}
        </div>
      </div>
    );
  }
  const finished = isFinished(run);
  const start = run.firstTs ?? now;
  const end = Math.max(finished ? (run.lastTs ?? now) : now, start + 1000);
  const span = end - start;
  const tasks = run.order.map((id) => run.tasks[id]);
  const done = tasks.filter((t) => t.status === 'completed').length;
  const running = tasks.filter((t) => t.status === 'running').length;
  const ticks = 5;
  return (
    <div className="plan" data-testid="plan" data-run-status={run.status}>
      <div className="plan-head">
        <div className="plan-title">
          Plan <span className="muted">· {tasks.length} tasks</span>
        </div>
        <div className="plan-stats">
          <span className="stat" data-testid="plan-progress">
            {done}/{tasks.length} done
          </span>
          <span className="stat">
            <span className="dot running" /> {running} running
          </span>
          <span className="stat" data-testid="max-parallel" data-value={run.maxParallel}>
            peak parallel {run.maxParallel}
          </span>
          <span className="stat">{fmtSeconds(end - start)}</span>
          {!finished && (
            <button className="btn ghost small" onClick={onCancel} data-testid="cancel-run">
              Stop run
            </button>
          )}
        </div>
      </div>
      <div className="plan-table">
        <div className="plan-row plan-header-row">
          <div className="c-status" />
          <div className="c-name">Task</div>
          <div className="c-deps">After</div>
          <div className="c-time">Elapsed</div>
          <div className="c-timeline">
            {Array.from({ length: ticks + 1 }, (_, i) => (
              <span key={i} className="tick" style={{ left: `${(i / ticks) * 100}%` }}>
                {fmtSeconds((span * i) / ticks)}
              </span>
            ))}
          </div>
          <div className="c-action" />
        </div>
        {tasks.map((t) => {
          const e = elapsed(t, now);
          return (
            <div
              className={`plan-row status-${t.status}`}
              key={t.id}
              data-testid={`task-${t.id}`}
              data-status={t.status}
            >
              <div className="c-status">
                <span className={`status-pill ${t.status}`}>{STATUS_TEXT[t.status] ?? t.status}</span>
              </div>
              <div className="c-name">
                <div className="task-name">
                  {t.name}
                  <span className="task-id">{t.id}</span>
                  {t.modified > 0 && <span className="task-mod">edited ×{t.modified}</span>}
                </div>
                <div className="task-progress" title={t.result || t.progress || t.description}>
                  {t.status === 'completed' ? t.result || 'Completed' : t.progress || t.description || ''}
                </div>
              </div>
              <div className="c-deps">
                {t.dependencies.length === 0 ? <span className="muted">—</span> : t.dependencies.map((d) => <span key={d} className="dep">{d.replace('task_', '#')}</span>)}
              </div>
              <div className="c-time">{e === null ? <span className="muted">—</span> : fmtSeconds(e)}</div>
              <div className="c-timeline">
                {t.segments.map((s, i) => {
                  const left = ((s.start - start) / span) * 100;
                  const width = Math.min(Math.max((((s.end ?? now) - s.start) / span) * 100, 0.6), 100 - left);
                  const cls = s.end === undefined ? 'running' : s.outcome ?? 'completed';
                  return <span key={i} className={`bar ${cls}`} style={{ left: `${left}%`, width: `${width}%` }} />;
                })}
              </div>
              <div className="c-action">
                {/* The reason sits on a wrapper too: a disabled button gets no hover in some browsers. */}
                <span className="edit-wrap" title={editDenied ?? (finished ? 'The run has finished' : 'Edit this step')}>
                  <button
                    className={`btn ghost small${editDenied ? ' locked' : ''}`}
                    onClick={() => onEdit(t.id)}
                    disabled={finished || !!editDenied}
                    title={editDenied ?? (finished ? 'The run has finished' : 'Edit this step')}
                    data-testid={`edit-${t.id}`}
                    data-denied={editDenied ?? undefined}
                  >
                    {editDenied ? <LockIcon /> : '✎'} Edit step
                  </button>
                </span>
              </div>
            </div>
          );
        })}
      </div>
    </div>
  );
}
