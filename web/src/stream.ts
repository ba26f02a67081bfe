// The spec's hybrid streaming: WebSocket while it works, Server-Sent Events
// when the socket cannot connect, long poll when neither can; and back to the
// socket as soon as it connects again. Every transport resumes from the last
// seq delivered, and delivery is by seq: each event reaches the app exactly
// once and in order, whichever transports overlapped to bring it.

import { api, tokenQuery, type StreamEvent } from './api';

export type Transport = 'websocket' | 'sse' | 'longpoll';
export interface ConnectionState {
  transport: Transport | null;
  phase: 'connecting' | 'live' | 'reconnecting' | 'finished' | 'stopped';
  detail?: string;
}

/** What the browser tests read through window.__ymy. */
export interface StreamStats {
  delivered: number[];
  duplicatesDropped: number;
  transports: Transport[];
}

// The summary is always the last event of a run (executionFailed comes before it).
const FINAL_TYPES = new Set(['executionSummary']);
const WS_CONNECT_TIMEOUT_MS = 4000;
const POLL_WAIT_S = 10;

let clientCounter = 0;
function clientId(): string {
  clientCounter += 1;
  return `web_${Math.random().toString(36).slice(2, 10)}_${clientCounter}`;
}

export class ExecutionStream {
  readonly executionId: string;
  private lastSeq: number;
  private readonly onEvent: (e: StreamEvent) => void;
  private readonly onState: (s: ConnectionState) => void;
  private state: ConnectionState = { transport: null, phase: 'connecting' };
  private pending = new Map<number, StreamEvent>();
  private filling = false;
  private finished = false;
  private stopped = false;
  private ws: WebSocket | null = null;
  private es: EventSource | null = null;
  private poll: AbortController | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private retryDelay = 1000;
  readonly stats: StreamStats = { delivered: [], duplicatesDropped: 0, transports: [] };

  constructor(
    executionId: string,
    after: number,
    onEvent: (e: StreamEvent) => void,
    onState: (s: ConnectionState) => void,
  ) {
    this.executionId = executionId;
    this.lastSeq = after;
    this.onEvent = onEvent;
    this.onState = onState;
  }

  start(): void {
    this.openWebSocket(false);
  }

  stop(): void {
    this.stopped = true;
    this.teardown();
    this.setState({ transport: null, phase: 'stopped' });
  }

  get seq(): number {
    return this.lastSeq;
  }

  /** Test hook: drop the socket as a network failure would. */
  killSocket(): boolean {
    if (!this.ws) return false;
    this.ws.close(4000, 'killed by the test');
    return true;
  }

  // ---- delivery ----

  private accept(e: StreamEvent): void {
    if (this.finished || this.stopped || e.executionId !== this.executionId || typeof e.seq !== 'number') return;
    if (e.seq <= this.lastSeq || this.pending.has(e.seq)) {
      this.stats.duplicatesDropped += 1;
      return;
    }
    this.pending.set(e.seq, e);
    this.drain();
    if (this.pending.size > 0) void this.fillGap();
  }

  private drain(): void {
    for (let next = this.pending.get(this.lastSeq + 1); next; next = this.pending.get(this.lastSeq + 1)) {
      this.pending.delete(next.seq);
      this.lastSeq = next.seq;
      this.stats.delivered.push(next.seq);
      this.onEvent(next);
      if (FINAL_TYPES.has(next.type)) {
        this.finish();
        return;
      }
    }
  }

  // A transport skipped ahead (it never should): fetch what is missing.
  private async fillGap(): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      while (this.pending.size > 0 && !this.finished && !this.stopped) {
        const r = await api.events(this.executionId, this.lastSeq, 0);
        if (r.events.length === 0) break;
        for (const e of r.events) this.accept(e);
      }
    } catch {
      // The next transport will bring it.
    } finally {
      this.filling = false;
    }
  }

  private finish(): void {
    this.finished = true;
    const transport = this.state.transport;
    this.teardown();
    this.setState({ transport, phase: 'finished' });
  }

  private setState(s: ConnectionState): void {
    this.state = s;
    if (s.transport && s.phase === 'live' && this.stats.transports[this.stats.transports.length - 1] !== s.transport) {
      this.stats.transports.push(s.transport);
    }
    this.onState(s);
  }

  private teardown(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = ws.onerror = ws.onmessage = ws.onopen = null;
      ws.close();
    }
    this.closeSse();
    this.stopPolling();
  }

  private closeSse(): void {
    if (this.es) {
      this.es.onerror = this.es.onmessage = this.es.onopen = null;
      this.es.close();
      this.es = null;
    }
  }

  private stopPolling(): void {
    this.poll?.abort();
    this.poll = null;
  }

  private get active(): boolean {
    return !this.finished && !this.stopped;
  }

  // ---- WebSocket ----

  /** `recovering`: an attempt to come back from a fallback; the fallback runs on until the socket is subscribed. */
  private openWebSocket(recovering: boolean): void {
    if (!this.active) return;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    let ws: WebSocket;
    try {
      ws = new WebSocket(`${proto}//${location.host}/stream?clientId=${clientId()}${tokenQuery('&')}`);
    } catch (e) {
      this.socketFailed(recovering, `WebSocket unavailable: ${(e as Error).message}`);
      return;
    }
    this.ws = ws;
    if (!recovering) this.setState({ transport: 'websocket', phase: 'connecting' });
    let subscribed = false;
    const timeout = setTimeout(() => {
      if (!subscribed) ws.close(4001, 'connect timeout');
    }, WS_CONNECT_TIMEOUT_MS);
    ws.onmessage = (m) => {
      let msg: StreamEvent;
      try {
        msg = JSON.parse(String(m.data));
      } catch {
        return;
      }
      if (msg.type === 'connected' && !subscribed) {
        subscribed = true;
        clearTimeout(timeout);
        ws.send(JSON.stringify({ type: 'subscribe', executionId: this.executionId, after: this.lastSeq }));
        // Back on the socket: the fallbacks stop; anything they already
        // brought is behind lastSeq and will be dropped if sent again.
        this.closeSse();
        this.stopPolling();
        this.retryDelay = 1000;
        this.setState({ transport: 'websocket', phase: 'live' });
        return;
      }
      if (msg.type === 'error' && (!msg.executionId || msg.executionId === this.executionId)) {
        ws.close(4002, String(msg.message ?? 'error'));
        return;
      }
      this.accept(msg);
    };
    ws.onclose = (c) => {
      clearTimeout(timeout);
      if (this.ws === ws) this.ws = null;
      if (!this.active) return;
      const why = c.reason ? `${c.reason} (${c.code})` : `closed (${c.code})`;
      this.socketFailed(recovering && !subscribed, `WebSocket ${why}`);
    };
  }

  private socketFailed(wasRecoveryAttempt: boolean, detail: string): void {
    if (!this.active) return;
    if (!wasRecoveryAttempt) this.openSse(detail);
    this.scheduleSocketRetry();
  }

  private scheduleSocketRetry(): void {
    if (this.retryTimer || !this.active) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.active && !this.ws) this.openWebSocket(true);
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, 8000);
  }

  // ---- Server-Sent Events ----

  private openSse(detail: string): void {
    if (!this.active) return;
    this.closeSse();
    this.stopPolling();
    this.setState({ transport: 'sse', phase: 'reconnecting', detail });
    const es = new EventSource(
      `/api/executions/${encodeURIComponent(this.executionId)}/stream?after=${this.lastSeq}${tokenQuery('&')}`,
    );
    this.es = es;
    es.onopen = () => {
      if (this.es === es) this.setState({ transport: 'sse', phase: 'live', detail });
    };
    es.onmessage = (m) => {
      try {
        this.accept(JSON.parse(m.data));
      } catch {
        /* not an event */
      }
    };
    es.addEventListener('close', () => this.sseFailed(es, 'the server closed the event stream'));
    es.onerror = () => this.sseFailed(es, 'the event stream could not connect');
  }

  private sseFailed(es: EventSource, detail: string): void {
    if (this.es !== es) return;
    this.closeSse();
    if (!this.active) return;
    void this.longPoll(detail);
  }

  // ---- long poll ----

  private async longPoll(detail: string): Promise<void> {
    if (!this.active || this.poll) return;
    const ctl = new AbortController();
    this.poll = ctl;
    this.setState({ transport: 'longpoll', phase: 'live', detail });
    let failures = 0;
    while (this.active && this.poll === ctl && !ctl.signal.aborted) {
      try {
        const r = await api.events(this.executionId, this.lastSeq, POLL_WAIT_S, ctl.signal);
        failures = 0;
        if (this.poll === ctl && this.state.phase !== 'live') this.setState({ transport: 'longpoll', phase: 'live', detail });
        for (const e of r.events) this.accept(e);
        // Ended with nothing left after our position (we already had its
        // summary): the server answers at once from now on, so stop asking.
        if (r.finished && r.events.length === 0 && this.active) this.finish();
      } catch (e) {
        if (ctl.signal.aborted) return;
        failures += 1;
        this.setState({ transport: 'longpoll', phase: 'reconnecting', detail: (e as Error).message });
        await new Promise((r) => setTimeout(r, Math.min(1000 * failures, 5000)));
      }
    }
  }
}
