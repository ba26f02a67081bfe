import { useEffect, useRef, useState } from 'react';
import { isFinished, type RunView } from '../run';
import { useAccess } from '../session';

export const PACES = [
  { value: 0, label: 'Instant' },
  { value: 0.02, label: 'Fast' },
  { value: 0.05, label: 'Watch' },
  { value: 0.1, label: 'Slow' },
  { value: 0.2, label: 'Very slow' },
];

const EXAMPLES = [
  'Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing',
  'Fix the auth service in my design and make it scalable to 5000 RPS',
  'Add a recommendation engine to my store',
];

interface Props {
  runs: RunView[];
  busy: boolean;
  pace: number;
  useCache: boolean;
  onPace: (v: number) => void;
  onUseCache: (v: boolean) => void;
  onSubmit: (text: string) => void;
}

function Chip({ label, value, tone, testId }: { label: string; value: string; tone?: string; testId?: string }) {
  return (
    <span className={`chip chip-${tone ?? 'neutral'}`} data-testid={testId} data-value={value}>
      <span className="chip-label">{label}</span> {value}
    </span>
  );
}

function RunCard({ run }: { run: RunView }) {
  const cacheTone = run.cache && run.cache !== 'MISS' ? 'good' : 'neutral';
  const feedRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    feedRef.current?.scrollTo({ top: feedRef.current.scrollHeight });
  }, [run.feed.length]);
  return (
    <div className="run-card" data-testid="run-card" data-execution={run.executionId}>
      <div className="chips">
        {run.intent?.intent ? (
          <Chip label="intent" value={run.intent.intent} tone="indigo" testId="chip-intent" />
        ) : (
          <span className="chip chip-neutral pulse">analysing…</span>
        )}
        {run.intent?.complexity !== undefined && <Chip label="complexity" value={run.intent.complexity.toFixed(2)} />}
        {run.route && <Chip label="route" value={run.route} tone={run.route === 'STATIC' ? 'teal' : 'violet'} testId="chip-route" />}
        {run.cache && <Chip label="cache" value={run.cache} tone={cacheTone} testId="chip-cache" />}
        {run.similarity !== undefined && <Chip label="similar" value={run.similarity.toFixed(2)} tone="good" />}
        {run.intent?.target && <Chip label="target" value={run.intent.target} />}
      </div>
      <div className="feed" ref={feedRef} data-testid="feed">
        {run.feed.map((l) => (
          <div key={l.seq} className={`feed-line ${l.tone ?? 'info'}`}>
            <span className="feed-seq">#{l.seq}</span> {l.text}
          </div>
        ))}
      </div>
      <div className={`run-status ${run.status}`}>
        {isFinished(run) ? (run.status === 'completed' ? 'Completed' : run.status === 'cancelled' ? 'Stopped' : 'Failed') : 'Working…'}
      </div>
    </div>
  );
}

export default function ChatPanel(p: Props) {
  const [text, setText] = useState('');
  const runDenied = useAccess().denied('design:run');
  const listRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    listRef.current?.scrollTo({ top: listRef.current.scrollHeight, behavior: 'smooth' });
  }, [p.runs.length]);
  const submit = () => {
    const t = text.trim();
    if (!t || p.busy || runDenied) return;
    p.onSubmit(t);
    setText('');
  };
  return (
    <div className="chat">
      <div className="chat-list" ref={listRef}>
        {p.runs.length === 0 && (
          <div className="chat-welcome">
            <div className="welcome-title">What shall we design?</div>
            <div className="muted">Describe a system, or ask for a change to the one on the canvas. Try one of these:</div>
            <div className="examples">
              {EXAMPLES.map((e) => (
                <button key={e} className="example" onClick={() => setText(e)}>
                  {e}
                </button>
              ))}
            </div>
          </div>
        )}
        {p.runs.map((r) => (
          <div key={r.executionId} className="turn">
            <div className="bubble user">{r.request}</div>
            <RunCard run={r} />
          </div>
        ))}
      </div>
      <div className="composer">
        <textarea
          className="composer-input"
          placeholder="e.g. Build a complete e-commerce platform with user auth, product catalog…"
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              submit();
            }
          }}
          rows={3}
          data-testid="request-input"
        />
        <div className="composer-row">
          <label className="mini-field" title="Agents take this share of their estimated time, so you can watch the run">
            Pace
            <select value={p.pace} onChange={(e) => p.onPace(Number(e.target.value))} data-testid="pace">
              {PACES.map((x) => (
                <option key={x.value} value={x.value}>
                  {x.label}
                </option>
              ))}
            </select>
          </label>
          <label className="mini-field check">
            <input type="checkbox" checked={p.useCache} onChange={(e) => p.onUseCache(e.target.checked)} data-testid="use-cache" /> Use cache
          </label>
          <button
            className="btn primary"
            onClick={submit}
            disabled={p.busy || !text.trim() || !!runDenied}
            title={runDenied ?? undefined}
            data-testid="send-request"
          >
            {p.busy ? 'Running…' : 'Design'}
          </button>
        </div>
      </div>
    </div>
  );
}
