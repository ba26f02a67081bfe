// Accounts, with `serve --auth on` and a tiers file of small limits: two people
// sign up in two browsers; one's project and run are invisible to the other;
// what the free tier lacks is disabled with the reason, and refused readably
// when asked anyway; limits answer 429 with the wait; signing out and in, a
// wrong password and an ended session all read as a person expects.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ask, createProject, EXAMPLE1, newPage, openBrowser, screenshot, signIn, signUp, startServer, waitRunStatus } from './harness.mjs';

// The free tier with room for the page loads below (a burst of 40) but a slow
// refill (6 a minute: one every 10 s), so a drained bucket stays drained
// while the page is clicked; and one design run a day.
const TIERS = {
  defaultTier: 'free',
  tiers: {
    free: {
      requestsPerMinute: 6,
      burst: 40,
      requestsPerDay: null,
      designRunsPerDay: 1,
      concurrentExecutions: 1,
      maxPlanTasks: 12,
      permissions: ['projects:read', 'projects:write', 'design:run'],
    },
    premium: {
      requestsPerMinute: 600,
      burst: 100,
      requestsPerDay: null,
      designRunsPerDay: null,
      concurrentExecutions: 5,
      maxPlanTasks: 50,
      permissions: ['projects:read', 'projects:write', 'design:run', 'design:modify', 'files:export'],
    },
  },
};

const ANN = { email: 'ann@example.com', password: 'correct horse battery' };
const BOB = { email: 'bob@example.com', password: 'another long password' };

let server, tiersDir, a, b;
let annRequests = 0;
before(async () => {
  tiersDir = mkdtempSync(path.join(tmpdir(), 'ymy-tiers-'));
  const tiersFile = path.join(tiersDir, 'tiers.json');
  writeFileSync(tiersFile, JSON.stringify(TIERS));
  server = await startServer(['--auth', 'on', '--tiers', tiersFile]);
  a = await openBrowser();
  b = { browser: a.browser, ...(await newPage(a.browser)) };
});
after(async () => {
  await a?.browser.close();
  await server?.stop();
  if (tiersDir) rmSync(tiersDir, { recursive: true, force: true });
});

/** fetch from inside the page, with the page's own token: what any script there could send. */
function fetchAsPage(page, url) {
  return page.evaluate(async (u) => {
    const { token } = JSON.parse(sessionStorage.getItem('youmeyou.session'));
    const res = await fetch(u, { headers: { Authorization: `Bearer ${token}` } });
    return { status: res.status, retryAfter: res.headers.get('Retry-After'), body: await res.text() };
  }, url);
}

test('accounts: two users, tiers, limits, signing in and out', async (t) => {
  const { page } = a;

  // Ann signs up: the sign-in page first, then her empty project list, her email and tier.
  await page.goto(server.url);
  await page.locator('[data-testid="auth-form"][data-mode="login"]').waitFor();
  await screenshot(page, '20-sign-in');
  await signUp(page, ANN.email, ANN.password);
  await page.getByTestId('projects-empty').waitFor();
  assert.equal(await page.getByTestId('account-tier').textContent(), 'free');

  // She creates a project and runs a design. The plan arrives with planGenerated:
  // the page reads the run's state once, when it has finished.
  const stateReads = [];
  page.on('request', (r) => {
    const p = new URL(r.url()).pathname;
    if (/^\/(api|session|stream)\b/.test(p)) annRequests += 1;
    if (/\/api\/executions\/[^/?]+$/.test(p)) stateReads.push(r.url());
  });
  await createProject(page, 'Ann shop');
  const annProject = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  await ask(page, EXAMPLE1, 0.02);
  await page.getByTestId('task-task_8').waitFor();
  // Editing a step is not in the free tier: disabled, with the reason.
  const edit = page.getByTestId('edit-task_1');
  assert.ok(await edit.isDisabled(), 'Edit step is disabled for the free tier');
  assert.match(await edit.getAttribute('title'), /free tier does not include editing a step \(design:modify\)/);
  await waitRunStatus(page, 'completed');
  assert.equal(await page.locator('[data-testid^="task-task_"][data-status="completed"]').count(), 8);
  assert.equal(stateReads.length, 1, `state reads: ${stateReads.join(', ')}`);
  assert.match(await edit.getAttribute('title'), /design:modify/, 'the tier, not the finished run, is the reason given');
  await screenshot(page, '21-free-tier-run');

  // The zip is not in the free tier either: disabled with the reason, and the
  // server refuses it when asked directly.
  await page.getByTestId('open-files').click();
  await page.getByTestId('file-tree').waitFor();
  assert.ok(await page.getByTestId('download-zip').isDisabled());
  assert.match(await page.getByTestId('zip-note').textContent(), /free tier does not include downloading the files as a zip/);
  await screenshot(page, '22-files-no-zip');
  await page.keyboard.press('Escape');
  const executionId = await page.evaluate(() => window.__ymy.run().executionId);
  const zip = await fetchAsPage(page, `/api/executions/${executionId}/files?format=zip`);
  assert.equal(zip.status, 403);
  assert.match(zip.body, /the free tier does not include files:export/);

  // One design run a day: the second is refused with the reason and the wait.
  await page.getByTestId('request-input').fill('Add a recommendation engine to my store');
  await page.getByTestId('send-request').click();
  const refusal = page.getByTestId('error-banner').filter({ hasText: 'design run' });
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /the free tier allows 1 design run a day\. Try again in (23 h \d+ min|24 h)/);
  await screenshot(page, '23-daily-limit');

  // A page that believes it may (its permissions are stale) shows the server's refusal in words.
  await page.route('**/session/validate', (route) => route.fulfill({
    contentType: 'application/json',
    body: JSON.stringify({ userId: 'stale', tier: 'free', permissions: ['*'] }),
  }));
  await page.reload();
  await page.locator('[data-testid="plan"][data-run-status="completed"]').waitFor();
  await page.getByTestId('files-button').click();
  await page.getByTestId('file-tree').waitFor();
  await page.getByTestId('download-zip').click();
  assert.match(
    await page.getByTestId('files-error').textContent(),
    /the free tier does not include downloading the files as a zip \(files:export\)/,
  );
  await page.keyboard.press('Escape');
  await page.unroute('**/session/validate');

  // Bob, in another browser, signs up: Ann's project is not in his list, and
  // its address shows a readable not-found.
  const bp = b.page;
  await bp.goto(server.url);
  await signUp(bp, BOB.email, BOB.password);
  await bp.getByTestId('projects-empty').waitFor();
  assert.equal(await bp.getByTestId('project-card').count(), 0);
  await bp.goto(`${server.url}/projects/${encodeURIComponent(annProject)}`);
  const missing = bp.getByTestId('project-not-found');
  await missing.waitFor();
  assert.match(await missing.textContent(), /Project not found/);
  assert.match(await missing.textContent(), new RegExp(`project ${annProject} not found`));
  await screenshot(bp, '24-not-found');
  // Nor can he follow her run: the state answers 404, the socket an error.
  assert.equal((await fetchAsPage(bp, `/api/executions/${executionId}`)).status, 404);
  const subscribed = await bp.evaluate((id) => new Promise((resolve, reject) => {
    const { token } = JSON.parse(sessionStorage.getItem('youmeyou.session'));
    const ws = new WebSocket(`ws://${location.host}/stream?clientId=bob&access_token=${encodeURIComponent(token)}`);
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.type === 'connected') ws.send(JSON.stringify({ type: 'subscribe', executionId: id, after: 0 }));
      else {
        ws.close();
        resolve(msg);
      }
    };
    ws.onerror = () => reject(new Error('the socket failed'));
  }), executionId);
  assert.equal(subscribed.type, 'error');
  assert.match(subscribed.message, /not found/);

  // Bob's requests per minute: a burst of 40, then one every 10 s. Spent from
  // the page, the next click is refused with the wait.
  const spent = await bp.evaluate(async () => {
    const { token } = JSON.parse(sessionStorage.getItem('youmeyou.session'));
    for (let i = 1; i <= 100; i++) {
      const res = await fetch('/api/projects', { headers: { Authorization: `Bearer ${token}` } });
      if (res.status === 429) return { i, retryAfter: res.headers.get('Retry-After'), remaining: res.headers.get('RateLimit-Remaining') };
    }
    return null;
  });
  assert.ok(spent, 'the burst ran out');
  assert.ok(Number(spent.retryAfter) >= 1 && Number(spent.retryAfter) <= 10, `Retry-After ${spent.retryAfter}`);
  await bp.getByTestId('back').click();
  const limited = bp.getByTestId('error-banner').filter({ hasText: 'requests per minute' });
  await limited.waitFor();
  assert.match(
    await limited.textContent(),
    /Could not list the projects: rate limit of the free tier: 6 requests per minute, bursts of 40\. Try again in \d+ s\./,
  );
  await screenshot(bp, '25-rate-limited');

  // Ann signs out and back in; a wrong password first.
  await page.getByTestId('sign-out').click();
  await page.getByTestId('auth-notice').filter({ hasText: 'You have signed out.' }).waitFor();
  assert.equal(await page.getByTestId('auth-email').inputValue(), ANN.email, 'her email is offered again');
  await signIn(page, ANN.email, 'not my password');
  await page.getByTestId('auth-error').waitFor();
  assert.equal(await page.getByTestId('auth-error').textContent(), 'Invalid email or password.');
  await screenshot(page, '26-wrong-password');
  await page.getByTestId('auth-password').fill(ANN.password);
  await page.getByTestId('auth-submit').click();
  // Back where she was, her run shown again.
  await page.getByTestId('account-email').filter({ hasText: ANN.email }).waitFor();
  await page.locator('[data-testid="plan"][data-run-status="completed"]').waitFor();
  await page.getByTestId('back').click();
  await page.getByTestId('project-card').filter({ hasText: 'Ann shop' }).waitFor();
  assert.equal(await page.getByTestId('project-card').count(), 1);

  // A token the server no longer accepts, anywhere: back to sign-in, saying why.
  await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem('youmeyou.session'));
    sessionStorage.setItem('youmeyou.session', JSON.stringify({ ...s, token: `${s.token.slice(0, -4)}AAAA` }));
  });
  await page.reload();
  const ended = page.getByTestId('auth-notice');
  await ended.waitFor();
  assert.match(await ended.textContent(), /Your session has ended \(.+\)\. Please sign in again\./);
  await screenshot(page, '27-session-ended');

  // The limits above have room for everything Ann did (a burst of 40, plus one every 10 s).
  t.diagnostic(`Ann sent ${annRequests} API requests`);
  assert.ok(annRequests <= 32, `Ann sent ${annRequests} API requests: near the burst of 40 in the tiers file`);
  assert.deepEqual(a.problems, []);
  assert.deepEqual(b.problems, []);
});
