// Example 1 by clicking: a new project, the request typed in the request box;
// the plan appears, tasks run at the same time, the canvas gains the services,
// the summary shows; then the files, the exports and editing the canvas by hand.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ask, assertEveryEventOnce, createProject, EXAMPLE1, graph, openBrowser, screenshot, startServer, streamStats, waitRunStatus } from './harness.mjs';

let server, b;
before(async () => {
  server = await startServer();
  b = await openBrowser();
});
after(async () => {
  await b?.browser.close();
  await server?.stop();
});

test('Example 1: build an e-commerce platform from scratch, by clicking', async () => {
  const { page, problems } = b;
  await page.goto(server.url);
  await page.getByTestId('projects-empty').waitFor();
  await screenshot(page, '01-projects-empty');

  await createProject(page, 'Shop');
  await page.getByText('What shall we design?').waitFor();
  await screenshot(page, '02-project-empty');

  await ask(page, EXAMPLE1, 0.05);
  await page.locator('[data-testid="chip-intent"][data-value="BUILD_FROM_SCRATCH"]').waitFor();
  await page.locator('[data-testid="chip-route"][data-value="DYNAMIC"]').waitFor();
  await page.locator('[data-testid="chip-cache"][data-value="MISS"]').waitFor();
  await page.locator('[data-testid="connection"][data-transport="websocket"][data-phase="live"]').waitFor();

  // The plan: eight tasks with the spec's dependencies.
  await page.getByTestId('task-task_8').waitFor();
  assert.equal(await page.locator('[data-testid^="task-task_"]').count(), 8);
  await page.getByTestId('task-task_5').getByText('#3').waitFor();

  // At least two tasks running at once, seen on the page.
  await page.waitForFunction(() => document.querySelectorAll('[data-testid^="task-"][data-status="running"]').length >= 2);
  // The canvas gains the services as task_1 completes, highlighted as new.
  await page.locator('[data-testid="node-Auth Service"][data-highlight="new"]').waitFor();
  await screenshot(page, '03-example1-running');

  await waitRunStatus(page, 'completed');
  assert.equal(await page.locator('[data-testid^="task-task_"][data-status="completed"]').count(), 8);
  const peak = Number(await page.getByTestId('max-parallel').getAttribute('data-value'));
  assert.ok(peak >= 2, `peak parallelism ${peak}`);
  for (const label of ['Auth Service', 'Product Catalog Service', 'Shopping Cart Service', 'Payment Service']) {
    await page.getByTestId(`node-${label}`).waitFor();
  }
  const g = await graph(page);
  assert.ok(g.nodes.some((n) => n.kind === 'database'), 'a database on the canvas');
  assert.ok(g.edges.length >= 8, `${g.edges.length} connections`);

  // The summary with the spec's figures; the project's canvas is the next version.
  await page.getByTestId('summary').waitFor();
  assert.equal(await page.getByTestId('fig-tasks').locator('.figure-value').textContent(), '8');
  assert.ok(Number(await page.getByTestId('fig-files').locator('.figure-value').textContent()) > 20);
  await page.getByTestId('canvas-version').getByText('v2').waitFor();
  await page.locator('[data-testid="connection"][data-phase="finished"]').waitFor();
  await screenshot(page, '04-example1-complete');

  const stats = await streamStats(page);
  const state = await (await fetch(`${server.url}/api/executions/${stats.executionId}`)).json();
  assertEveryEventOnce(assert, stats.delivered, state.lastSeq);

  // Generated files: the tree, a highlighted file, the zip.
  await page.getByTestId('open-files').click();
  await page.getByTestId('file-tree').waitFor();
  await page.locator('[data-testid="file-view"] .hljs-keyword').first().waitFor();
  assert.match(await page.getByTestId('file-view').textContent(), /CREATE TABLE/);
  await screenshot(page, '05-files');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-zip').click()]);
  assert.match(download.suggestedFilename(), /\.zip$/);
  await page.keyboard.press('Escape');

  // Exports: Mermaid text; a refused format is shown in the server's words.
  await page.getByTestId('export-button').click();
  await page.getByTestId('export-mermaid').click();
  await page.getByTestId('export-text').waitFor();
  assert.match(await page.getByTestId('export-text').textContent(), /auth-service|auth_service/);
  await page.keyboard.press('Escape');
  for (const format of ['plantuml', 'drawio']) {
    await page.getByTestId('export-button').click();
    await page.getByTestId(`export-${format}`).click();
    await page.locator('[data-testid="export-text"], [data-testid="export-error"]').first().waitFor();
    if (await page.getByTestId('export-error').count()) {
      assert.match(await page.getByTestId('export-error').textContent(), new RegExp(format));
    }
    await page.keyboard.press('Escape');
  }

  // Editing by hand: add a queue, connect it, delete it again, save a version.
  const before = await graph(page);
  await page.getByTestId('add-node').click();
  await page.getByTestId('add-queue').click();
  const queue = page.getByTestId('node-New queue');
  await queue.waitFor();
  await page.getByTestId('inspector').waitFor();
  await page.getByTestId('add-node').click();
  await page.getByTestId('add-cache').click();
  await page.getByTestId('node-New cache').waitFor();
  await page.waitForTimeout(400); // the view's fit animation
  const from = page.locator('.react-flow__node').filter({ has: page.getByTestId('node-New queue') }).locator('.react-flow__handle.source');
  const to = page.locator('.react-flow__node').filter({ has: page.getByTestId('node-New cache') }).locator('.react-flow__handle.target');
  await from.dragTo(to);
  await page.waitForFunction(() => window.__ymy.graph().edges.some((e) => e.source === 'queue-1' && e.target === 'cache-1'));
  await page.locator('.react-flow__node').filter({ has: page.getByTestId('node-New cache') }).click();
  await page.getByRole('button', { name: 'Delete', exact: true }).click();
  await page.waitForFunction(() => !window.__ymy.graph().nodes.some((n) => n.id === 'cache-1'));
  const edited = await graph(page);
  assert.equal(edited.nodes.length, before.nodes.length + 1);
  assert.ok(!edited.edges.some((e) => e.target === 'cache-1'), 'the deleted node took its edge with it');
  await page.getByTestId('save-canvas').click();
  await page.getByTestId('canvas-version').getByText('v3').waitFor();
  const project = await (await fetch(`${server.url}/api/projects`)).json();
  const saved = await (await fetch(`${server.url}/api/projects/${project.projects[0].id}/canvas?version=3`)).json();
  assert.ok(saved.nodes.some((n) => n.id === 'queue-1' && n.type === 'queue'), 'version 3 has the queue');
  await screenshot(page, '06-canvas-edited');

  assert.deepEqual(problems, []);
});
