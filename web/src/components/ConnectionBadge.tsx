import type { ConnectionState } from '../stream';

const NAMES = { websocket: 'WebSocket', sse: 'SSE', longpoll: 'Long poll' } as const;

export default function ConnectionBadge({ state }: { state: ConnectionState | null }) {
  if (!state || state.phase === 'stopped') {
    return (
      <span className="conn idle" data-testid="connection" data-transport="" data-phase="idle">
        <span className="conn-dot" /> Idle
      </span>
    );
  }
  const name = state.transport ? NAMES[state.transport] : 'Connecting';
  const tone =
    state.phase === 'finished'
      ? 'done'
      : state.phase === 'live' && state.transport === 'websocket'
        ? 'live'
        : state.phase === 'live'
          ? 'fallback'
          : 'warn';
  const text =
    state.phase === 'finished'
      ? 'Run streamed'
      : state.phase === 'live'
        ? state.transport === 'websocket'
          ? 'Live · WebSocket'
          : `Fallback · ${name}`
        : state.phase === 'connecting'
          ? `Connecting · ${name}`
          : `Reconnecting · ${name}`;
  return (
    <span
      className={`conn ${tone}`}
      data-testid="connection"
      data-transport={state.transport ?? ''}
      data-phase={state.phase}
      title={state.detail ?? ''}
    >
      <span className="conn-dot" /> {text}
    </span>
  );
}
