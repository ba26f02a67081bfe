// The spec's hybrid streaming, with the socket killed mid-run: WebSocket and
// SSE are then blocked, so the page falls back to long poll; when they are
// let through again it goes back to the socket. The run ends complete, with
// every event delivered once, in order.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ask, assertEveryEventOnce, createProject, EXAMPLE1, openBrowser, screenshot, startServer, streamStats, waitRunStatus } from './harness.mjs';

let server, b;
before(async () => {
  server = await startServer();
  b = await openBrowser();
});
after(async () => {
  await b?.browser.close();
  await server?.stop();
});

const seen = (page) => page.evaluate(() => window.__ymy.stream()?.stats.delivered.length ?? 0);

test('the socket is killed mid-run: fallback, recovery, every event once', async () => {
  const { page, problems } = b;
  let blocked = false;
  // WebSocket upgrades pass through to the server unless blocked.
  await page.routeWebSocket(/\/stream\?/, (ws) => {
    if (blocked) ws.close({ code: 1011, reason: 'blocked by the test' });
    else ws.connectToServer();
  });
  // So do the SSE streams.
  await page.route(/\/api\/executions\/[^/]+\/stream/, (route) => (blocked ? route.abort('connectionrefused') : route.continue()));

  await page.goto(server.url);
  await createProject(page, 'Resilient shop');
  await ask(page, EXAMPLE1, 0.1);
  const live = (transport) => page.locator(`[data-testid="connection"][data-transport="${transport}"][data-phase="live"]`);
  await live('websocket').waitFor();
  await page.locator('[data-testid="task-task_1"][data-status="completed"]').waitFor({ timeout: 60_000 });

  blocked = true;
  const killed = await page.evaluate(() => window.__ymy.stream().killSocket());
  assert.ok(killed, 'there was a socket to kill');
  await live('longpoll').waitFor();
  const atFallback = await seen(page);
  // Events keep coming over long poll.
  await page.waitForFunction((n) => window.__ymy.stream().stats.delivered.length > n + 2, atFallback);
  await screenshot(page, '12-fallback-longpoll');
  const midStats = await streamStats(page);
  assert.equal(midStats.transports.at(-1), 'longpoll');

  blocked = false;
  await live('websocket').waitFor({ timeout: 30_000 });
  const recovered = await streamStats(page);
  await screenshot(page, '13-fallback-recovered');

  await waitRunStatus(page, 'completed', 120_000);
  assert.equal(await page.locator('[data-testid^="task-task_"][data-status="completed"]').count(), 8);
  const stats = await streamStats(page);
  const state = await (await fetch(`${server.url}/api/executions/${stats.executionId}`)).json();
  assert.equal(state.status, 'completed');
  assertEveryEventOnce(assert, stats.delivered, state.lastSeq);
  assert.deepEqual(stats.transports.slice(0, 1), ['websocket']);
  assert.ok(recovered.transports.includes('longpoll'), `transports ${recovered.transports}`);
  assert.equal(recovered.transports.at(-1), 'websocket');
  // The feed shows each event once.
  const seqs = await page.locator('[data-testid="feed"] .feed-seq').allTextContents();
  assert.equal(new Set(seqs).size, seqs.length, 'no event shown twice');
  assert.deepEqual(problems, []);
});
