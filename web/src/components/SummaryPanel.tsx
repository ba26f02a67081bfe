import type { RunView } from '../run';

function fmtMs(ms: unknown): string {
  const n = Number(ms);
  if (!Number.isFinite(n)) return '—';
  return n < 60_000 ? `${(n / 1000).toFixed(1)} s` : `${Math.floor(n / 60_000)} m ${Math.round((n % 60_000) / 1000)} s`;
}

function Figure({ label, value, testId }: { label: string; value: unknown; testId?: string }) {
  return (
    <div className="figure" data-testid={testId}>
      <div className="figure-value">{value === undefined || value === null ? '—' : String(value)}</div>
      <div className="figure-label">{label}</div>
    </div>
  );
}

export default function SummaryPanel({ run, onFiles }: { run: RunView | null; onFiles: () => void }) {
  const s = run?.summary;
  if (!run || !s) {
    return (
      <div className="side-empty">
        <div className="empty-title small">No summary yet</div>
        <div className="muted">When a run finishes, its figures appear here: time, tasks, canvas changes and generated code.</div>
      </div>
    );
  }
  const canvas = (s.canvasChanges ?? {}) as Record<string, unknown>;
  const code = (s.codeGeneration ?? {}) as Record<string, unknown>;
  const next = (s.nextSteps ?? []) as string[];
  // Present only when a language model took part (builtin runs cost nothing).
  const llm = s.llm as { promptTokens?: number; completionTokens?: number; costUsd?: number; model?: string } | undefined;
  const tokens = llm ? Number(llm.promptTokens ?? 0) + Number(llm.completionTokens ?? 0) : 0;
  return (
    <div className="summary" data-testid="summary">
      <div className={`summary-banner ${s.success === false ? 'bad' : 'good'}`}>
        {s.success === false ? 'The run did not complete' : 'Design complete'}
        <span className="muted"> · {fmtMs(s.totalTime)}</span>
      </div>
      <div className="figures">
        <Figure label="tasks completed" value={s.tasksCompleted} testId="fig-tasks" />
        <Figure label="total time" value={fmtMs(s.totalTime)} />
        <Figure label="components added" value={canvas.componentsAdded} testId="fig-components" />
        <Figure label="connections" value={canvas.connectionsCreated} />
        <Figure label="files generated" value={code.filesGenerated} testId="fig-files" />
        <Figure label="lines of code" value={typeof code.linesOfCode === 'number' ? code.linesOfCode.toLocaleString('en') : code.linesOfCode} />
        <Figure label="services" value={code.services} />
        <Figure label="UI components" value={code.components} />
        {llm && <Figure label={`model tokens (${llm.model ?? 'model'})`} value={tokens.toLocaleString('en')} testId="fig-llm-tokens" />}
        {llm && <Figure label="model cost" value={llm.costUsd === undefined ? 'not priced' : `$${llm.costUsd.toFixed(4)}`} testId="fig-llm-cost" />}
      </div>
      {canvas.componentsUpdated !== undefined && Number(canvas.componentsUpdated) > 0 && (
        <div className="muted small-text">{String(canvas.componentsUpdated)} existing components updated</div>
      )}
      {next.length > 0 && (
        <>
          <div className="section-title">Next steps</div>
          <ul className="next-steps">
            {next.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        </>
      )}
      <button className="btn block" onClick={onFiles} data-testid="open-files">
        Browse generated files
      </button>
    </div>
  );
}
