// Example 2 against a saved canvas: a project made from the example canvas
// (imported in the New project dialog), then "Fix the auth service in my
// design and make it scalable to 5000 RPS": the static route; the auth
// service replaced by its scaled version, and the load balancer, Redis
// Cluster, cache, read replicas and monitoring added, as the spec lists.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ask, createProject, EXAMPLE2, graph, openBrowser, repo, screenshot, startServer, waitRunStatus } from './harness.mjs';

let server, b;
before(async () => {
  server = await startServer();
  b = await openBrowser();
});
after(async () => {
  await b?.browser.close();
  await server?.stop();
});

test('Example 2: scale the auth service of a saved design to 5000 RPS', async () => {
  const { page, problems } = b;
  await page.goto(server.url);
  await createProject(page, 'Store', path.join(repo, 'data', 'examples', 'ecommerce-basic-auth.canvas.json'));
  await page.getByTestId('node-Auth Service').waitFor();
  const before = await graph(page);
  assert.equal(before.nodes.length, 8);
  const authBefore = before.nodes.find((n) => n.id === 'auth-service');
  assert.equal(authBefore.config.instances, 1);
  await page.locator('.react-flow__node').filter({ has: page.getByTestId('node-Auth Service') }).click();
  await page.getByTestId('node-config').getByText('Memory').waitFor();
  await screenshot(page, '07-example2-before');

  await ask(page, EXAMPLE2, 0.05);
  await page.locator('[data-testid="chip-intent"][data-value="SCALE_COMPONENT"]').waitFor();
  await page.locator('[data-testid="chip-route"][data-value="STATIC"]').waitFor();
  await page.getByTestId('feed').getByText('3 bottlenecks identified').waitFor();
  await waitRunStatus(page, 'completed');
  await page.getByTestId('feed').getByText(/Scaling completed: \d+ RPS/).waitFor();
  await page.getByTestId('canvas-version').getByText('v2').waitFor();

  const g = await graph(page);
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const auth = byId.get('auth-service');
  assert.equal(auth.highlight, 'changed', 'the auth service is replaced by its scaled version');
  assert.ok(Number(auth.config.instances) >= 10, `auth-service instances ${auth.config.instances}`);
  const added = g.nodes.filter((n) => n.highlight === 'new');
  const kinds = added.map((n) => n.kind);
  assert.ok(kinds.includes('load_balancer'), `a load balancer added (${kinds})`);
  assert.ok(kinds.filter((k) => k === 'cache').length >= 2, 'the Redis Cluster and the cache added');
  assert.equal(added.filter((n) => /replica/.test(n.id)).length, 2, 'two read replicas added');
  assert.ok(kinds.includes('monitoring'), 'monitoring added');
  for (const id of ['product-service', 'cart-service', 'payment-service']) {
    assert.ok(byId.has(id) && byId.get(id).highlight === null, `${id} kept as it was`);
  }
  // The load balancer now fronts the auth service.
  assert.ok(g.edges.some((e) => e.source === 'auth-service-lb' && e.target === 'auth-service'), 'load balancer -> auth service');

  await page.locator('[data-testid="node-Auth Service"][data-highlight="changed"]').waitFor();
  await page.locator('.react-flow__node').filter({ has: page.getByTestId('node-Auth Service') }).click();
  await page.getByTestId('tab-inspector').click();
  await page.getByTestId('node-config').getByText(/Redis/).first().waitFor();
  await screenshot(page, '08-example2-scaled');
  assert.deepEqual(problems, []);
});
