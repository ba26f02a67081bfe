// A language model configured but unreachable (serve --llm openai with a
// URL nobody listens on): every stage falls back to the builtin engine, the
// run completes, and the feed says for each stage and task that the builtin
// engine did the model's work, in words.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ask, createProject, openBrowser, screenshot, startServer, waitRunStatus } from './harness.mjs';

let server, b;
before(async () => {
  server = await startServer(['--llm', 'openai', '--llm-url', 'http://127.0.0.1:1', '--llm-model', 'test-model']);
  b = await openBrowser();
});
after(async () => {
  await b?.browser.close();
  await server?.stop();
});

test('a model that is down: the builtin engine steps in and the feed says so', async () => {
  const { page, problems } = b;
  await page.goto(server.url);
  await createProject(page, 'Recipes');
  await ask(page, 'Build a recipe sharing site with ratings and meal plans', 0);
  await waitRunStatus(page, 'completed', 120_000);
  const feed = page.getByTestId('feed');
  await feed.getByText(/The model \(openai test-model\) gave no intent: the builtin engine did it/).waitFor();
  await feed.getByText(/The model \(openai test-model\) gave no plan: the builtin engine did it/).waitFor();
  await feed.getByText(/The model \(openai test-model\) gave no result for Architecture Design: the builtin engine did it/).waitFor();
  assert.match(await feed.innerText(), /Couldn't connect to server/, 'the reason is shown');
  // The model was asked but answered nothing: the summary counts no tokens for it.
  const tokens = await page.getByTestId('fig-llm-tokens').innerText();
  assert.match(tokens, /^0\s+model tokens \(test-model\)/, tokens);
  await screenshot(page, '20-model-down-fallback');
  assert.deepEqual(problems, []);
});
