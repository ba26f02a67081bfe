// Clients of a local cluster (scripts/cluster): requests through nginx (TLS,
// the cluster's self-signed certificate) or straight to one instance, and
// followers of an execution over WebSocket, SSE and long poll that resume
// from their last seq on another instance when theirs goes away.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export class Cluster {
  // Starts PostgreSQL, Redis, `n` instances and nginx on free loopback ports.
  static up(n, { leaseTtl = 3, binary = process.env.YOUMEYOU_BIN || path.join(root, 'build/youmeyou') } = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ymy-cluster-'));
    const c = new Cluster(dir);
    c.run('up', String(n), '--ports', 'auto', '--binary', binary, '--', '--lease-ttl', String(leaseTtl));
    c.env = Object.fromEntries(
      fs.readFileSync(path.join(dir, 'cluster.env'), 'utf8').split('\n').filter(Boolean)
        .map((line) => { const i = line.indexOf('='); return [line.slice(0, i), line.slice(i + 1).replace(/^"|"$/g, '')]; }));
    c.lb = c.env.YMY_URL;
    c.instances = c.env.INSTANCE_URLS.split(' ');
    c.ca = fs.readFileSync(path.join(dir, 'nginx/selfsigned.crt'));
    c.leaseTtl = leaseTtl;
    return c;
  }
  constructor(dir) { this.dir = dir; }
  run(...args) {
    execFileSync(path.join(root, 'scripts/cluster'), ['--dir', this.dir, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  down() {
    try { this.run('down'); } finally { fs.rmSync(this.dir, { recursive: true, force: true }); }
  }
  instanceIndex(id) { return Number(String(id).replace(/^instance-/, '')); }
  urlOf(id) { return this.instances[this.instanceIndex(id) - 1]; }

  request(base, method, route, body, headers = {}) {
    const url = new URL(route, base);
    const lib = url.protocol === 'https:' ? https : http;
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = lib.request(url, {
        method, ca: this.ca, agent: false,
        headers: { ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}), ...headers },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => { text += chunk; });
        res.on('end', () => {
          let json = null;
          try { json = JSON.parse(text); } catch { /* not JSON */ }
          resolve({ status: res.statusCode, headers: res.headers, json, text });
        });
      });
      req.setTimeout(90_000, () => req.destroy(new Error(`${method} ${url} timed out`)));
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  async design(base, request, options = {}) {
    const r = await this.request(base, 'POST', '/api/design', { request, options });
    if (r.status !== 202) throw new Error(`POST /api/design: ${r.status} ${r.text}`);
    return r.json.executionId;
  }
  async state(base, id) {
    const r = await this.request(base, 'GET', `/api/executions/${id}`);
    if (r.status !== 200) throw new Error(`GET state: ${r.status} ${r.text}`);
    return r.json;
  }
  async metric(base, name) {
    const r = await this.request(base, 'GET', '/metrics');
    const line = r.text.split('\n').find((l) => l.startsWith(name + ' '));
    return line ? Number(line.split(' ')[1]) : 0;
  }

  // Follows `id` over `transport` (ws | sse | poll) starting at `base`; when
  // the connection breaks it resumes from its last seq through the load
  // balancer. Resolves with every event once the summary arrives.
  follow(transport, base, id, { onEvent = () => {} } = {}) {
    const f = new Follower(this, transport, base, id, onEvent);
    return f;
  }
}

class Follower {
  constructor(cluster, transport, base, id, onEvent) {
    Object.assign(this, { cluster, transport, base, id, onEvent });
    this.events = [];
    this.reconnects = 0;
    this.done = new Promise((resolve, reject) => { this.resolve = resolve; this.reject = reject; });
    this.deadline = setTimeout(() => this.reject(new Error(`${transport} follower of ${id} did not finish (last seq ${this.last()})`)), 180_000);
    this.connect(base);
  }
  last() { return this.events.length ? this.events[this.events.length - 1].seq : 0; }
  take(event) {
    if (event.executionId !== this.id || typeof event.seq !== 'number') return;
    this.events.push(event);  // duplicates and gaps stay visible to the test
    this.onEvent(event, this);
    if (event.type === 'executionSummary') {
      clearTimeout(this.deadline);
      this.finished = true;
      this.close?.();
      this.resolve(this.events);
    }
  }
  retry(why) {
    if (this.finished) return;
    this.reconnects += 1;
    this.lastError = why;
    setTimeout(() => this.connect(this.cluster.lb), 100);  // the load balancer picks a live instance
  }
  connect(base) {
    if (this.transport === 'ws') return this.ws(base);
    if (this.transport === 'sse') return this.sse(base);
    return this.poll(base);
  }
  ws(base) {
    const url = base.replace(/^http/, 'ws') + '/stream?clientId=test-' + Math.random().toString(16).slice(2);
    const socket = new WebSocket(url, { ca: this.cluster.ca });
    let closed = false;
    this.close = () => { closed = true; socket.close(); };
    socket.on('open', () => socket.send(JSON.stringify({ type: 'subscribe', executionId: this.id, after: this.last() })));
    socket.on('message', (data) => {
      for (const line of String(data).split('\n')) {
        if (!line.trim()) continue;
        const m = JSON.parse(line);
        if (m.type === 'error') return this.reject(new Error('ws error: ' + line));
        this.take(m);
      }
    });
    const gone = (why) => { if (!closed) { closed = true; this.retry(why); } };
    socket.on('close', () => gone('closed'));
    socket.on('error', (e) => gone(e.message));
  }
  sse(base) {
    const url = new URL(`/api/executions/${this.id}/stream`, base);
    const lib = url.protocol === 'https:' ? https : http;
    let closed = false;
    const req = lib.get(url, { ca: this.cluster.ca, agent: false, headers: { accept: 'text/event-stream', 'last-event-id': String(this.last()) } }, (res) => {
      if (res.statusCode !== 200) { res.resume(); return gone(`status ${res.statusCode}`); }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
          if (data) this.take(JSON.parse(data));
        }
      });
      res.on('end', () => gone('ended'));
      res.on('error', (e) => gone(e.message));
    });
    const gone = (why) => { if (!closed) { closed = true; req.destroy(); this.retry(why); } };
    this.close = () => { closed = true; req.destroy(); };
    req.on('error', (e) => gone(e.message));
  }
  async poll(base) {
    let current = base;
    while (!this.finished) {
      try {
        const r = await this.cluster.request(current, 'GET', `/api/executions/${this.id}/events?after=${this.last()}&wait=5`);
        if (r.status !== 200) throw new Error(`status ${r.status}`);
        for (const e of r.json.events) this.take(e);
      } catch (e) {
        this.reconnects += 1;
        this.lastError = e.message;
        current = this.cluster.lb;
        await new Promise((res) => setTimeout(res, 100));
      }
    }
  }
}

// Every event exactly once, in order, from seq 1 to the summary.
export function checkComplete(assert, events, label) {
  assert.ok(events.length > 0, `${label}: no events`);
  events.forEach((e, i) => assert.equal(e.seq, i + 1, `${label}: event ${i} is seq ${e.seq} (${e.type}), expected ${i + 1}`));
  assert.equal(events.at(-1).type, 'executionSummary', `${label}: ends with ${events.at(-1).type}`);
}

export const sleep = (ms) => new Promise((res) => setTimeout(res, ms));
export async function until(what, check, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
