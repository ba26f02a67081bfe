// Example 3: while the run is in progress, edit task_2 (the database schema)
// to add a recommendation engine: the impact analysis from the preview
// endpoint (affected and unaffected tasks, extra time, cost), confirm, the
// regeneration; then the fourth edit of the same task refused as the server
// words it.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ask, createProject, EXAMPLE1, EXAMPLE3_PROMPT, openBrowser, screenshot, startServer, waitRunStatus } from './harness.mjs';

let server, b;
before(async () => {
  server = await startServer();
  b = await openBrowser();
});
after(async () => {
  await b?.browser.close();
  await server?.stop();
});

async function edit(page, prompt) {
  await page.getByTestId('edit-task_2').click();
  await page.getByTestId('edit-modal').waitFor();
  await page.getByTestId('edit-prompt').fill(prompt);
}

test('Example 3: edit a step while it runs', async () => {
  const { page, problems } = b;
  await page.goto(server.url);
  await createProject(page, 'Shop with recommendations');
  await ask(page, EXAMPLE1, 0.2);
  await page.locator('[data-testid="task-task_2"][data-status="running"]').waitFor({ timeout: 60_000 });

  await edit(page, EXAMPLE3_PROMPT);
  const affected = page.getByTestId('impact-affected');
  await affected.waitFor();
  for (const id of ['task_4', 'task_5', 'task_8']) await affected.locator(`[data-task="${id}"]`).waitFor();
  const unaffected = page.getByTestId('impact-unaffected');
  for (const id of ['task_3', 'task_6']) await unaffected.locator(`[data-task="${id}"]`).waitFor();
  const headline = await page.getByTestId('impact-headline').textContent();
  assert.match(headline, /affects 3 tasks and adds about \d+ s \(\+\$\d+\.\d+\)/);
  await screenshot(page, '09-example3-impact');

  await page.getByTestId('confirm-edit').click();
  await page.getByTestId('edit-modal').waitFor({ state: 'detached' });
  await page.getByTestId('feed').getByText(/Regenerating 4 tasks, keeping 2/).waitFor();
  await page.getByTestId('task-task_2').getByText('edited ×1').waitFor();
  await page.locator('[data-testid="task-task_2"][data-status="running"]').waitFor();
  // The stopped generation shows on the timeline beside the new one.
  await page.getByTestId('task-task_2').locator('.bar.restarted').waitFor();
  await screenshot(page, '10-example3-regenerating');

  // Two more edits are allowed; the fourth is refused, in the server's words.
  for (const n of [2, 3]) {
    await edit(page, `${EXAMPLE3_PROMPT} (revision ${n})`);
    await page.getByTestId('impact-headline').waitFor();
    await page.getByTestId('confirm-edit').click();
    await page.getByTestId('edit-modal').waitFor({ state: 'detached' });
    await page.getByTestId('task-task_2').getByText(`edited ×${n}`).waitFor();
  }
  await edit(page, `${EXAMPLE3_PROMPT} (revision 4)`);
  const refusal = page.getByTestId('edit-error');
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /already modified 3 times/);
  assert.equal(await refusal.getAttribute('data-status'), '409');
  assert.ok(await page.getByTestId('confirm-edit').isDisabled());
  await screenshot(page, '11-example3-refused');
  await page.keyboard.press('Escape');

  // Stop the run: a finished run refuses edits, and the page says so.
  await page.getByTestId('cancel-run').click();
  await waitRunStatus(page, 'cancelled');
  assert.ok(await page.getByTestId('edit-task_3').isDisabled());
  assert.deepEqual(problems, []);
});
