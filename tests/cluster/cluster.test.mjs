// Three instances behind nginx on a real PostgreSQL and Redis (scripts/cluster):
// the spec's Example 1 and Example 3 driven through the load balancer with
// clients spread over every instance and transport; the owning instance
// killed mid-run; Redis restarted mid-run; PostgreSQL stopped and started
// mid-run. Every client's stream must be complete and in order.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Cluster, checkComplete, sleep, until } from './lib.mjs';

const EXAMPLE1 = 'Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing';
let cluster;

before(() => { cluster = Cluster.up(3, { leaseTtl: 3 }); });
after(() => cluster?.down());

// One follower per transport and instance, plus two through nginx.
function followEverywhere(id) {
  const [a, b, c] = cluster.instances;
  return [
    cluster.follow('ws', cluster.lb, id), cluster.follow('sse', cluster.lb, id),
    cluster.follow('ws', a, id), cluster.follow('sse', b, id), cluster.follow('poll', c, id),
    cluster.follow('poll', a, id), cluster.follow('ws', c, id),
  ];
}

async function expectAllComplete(followers) {
  const streams = await Promise.all(followers.map((f) => f.done));
  streams.forEach((events, i) => checkComplete(assert, events, `${followers[i].transport} follower ${i}`));
  const types = streams[0].map((e) => e.type).join(',');
  streams.forEach((events, i) => assert.equal(events.map((e) => e.type).join(','), types, `follower ${i} saw another stream`));
  return streams[0];
}

test('Example 1 through the load balancer, followed from every instance', async () => {
  const id = await cluster.design(cluster.lb, EXAMPLE1, { simulateLatency: 0.01 });
  const events = await expectAllComplete(followEverywhere(id));
  assert.ok(events.at(-1).success, 'the run succeeded');
  for (const base of [cluster.lb, ...cluster.instances]) {
    const s = await cluster.state(base, id);
    assert.equal(s.status, 'completed');
    assert.ok(s.tasks.every((t) => t.status === 'completed'), 'every task completed');
  }
  const files = await cluster.request(cluster.instances[2], 'GET', `/api/executions/${id}/files`);
  assert.equal(files.status, 200);
  assert.ok(JSON.stringify(files.json).includes('schema'), 'generated files are served by any instance');
});

test('Example 3: a step modified through an instance that does not run it', async () => {
  const id = await cluster.design(cluster.lb, EXAMPLE1, { simulateLatency: 0.08, cache: false });
  const followers = followEverywhere(id);
  const plan = await until('the plan', () => followers[0].events.find((e) => e.type === 'planGenerated'));
  const schemaTask = plan.tasks.find((t) => t.agent === 'db-001') ?? plan.tasks[1];
  const owner = (await cluster.state(cluster.lb, id)).instance.id;
  const others = cluster.instances.filter((u) => u !== cluster.urlOf(owner));
  const prompt = 'Also add a recommendation engine: product recommendations from purchase history, with its tables and API';

  const preview = await cluster.request(others[0], 'POST', `/api/executions/${id}/tasks/${schemaTask.id}/modifications/preview`, { prompt });
  assert.equal(preview.status, 200, preview.text);
  const applied = await cluster.request(others[1], 'POST', `/api/executions/${id}/tasks/${schemaTask.id}/modifications`, { prompt });
  assert.ok([200, 202].includes(applied.status), applied.text);
  assert.ok(await cluster.metric(others[1], 'youmeyou_commands_forwarded_total') >= 1, 'the command was forwarded to the owner');

  const events = await expectAllComplete(followers);
  assert.ok(events.some((e) => e.type === 'modificationValidated'), 'modificationValidated streamed');
  assert.ok(events.some((e) => e.type === 'regenerationStarted'), 'regenerationStarted streamed');
  const s = await cluster.state(others[0], id);
  assert.equal(s.status, 'completed');
  assert.ok(JSON.stringify(s.modifications).includes('recommendation'), 'the modification is part of the record');
});

test('a run cancelled through an instance that does not run it', async () => {
  const id = await cluster.design(cluster.lb, 'Build a chat application with channels, direct messages and presence',
                                  { simulateLatency: 0.1, cache: false });
  const followers = followEverywhere(id);
  await until('a started task', () => followers[0].events.some((e) => e.type === 'taskStarted'));
  const owner = (await cluster.state(cluster.lb, id)).instance.id;
  const other = cluster.instances.find((u) => u !== cluster.urlOf(owner));
  const r = await cluster.request(other, 'POST', `/api/executions/${id}/cancel`);
  assert.equal(r.status, 202, r.text);
  const events = await expectAllComplete(followers);
  assert.equal(events.at(-1).cancelled, true, 'the summary says cancelled');
  assert.equal((await cluster.state(other, id)).status, 'cancelled');
});

test('kill -9 of the owning instance: another takes over and every stream completes', async () => {
  const id = await cluster.design(cluster.lb, EXAMPLE1, { simulateLatency: 0.1, cache: false });
  const followers = followEverywhere(id);
  await until('two completed tasks', () => followers[0].events.filter((e) => e.type === 'taskCompleted').length >= 2);
  const owner = (await cluster.state(cluster.lb, id)).instance.id;
  const doneBefore = new Set(followers[0].events.filter((e) => e.type === 'taskCompleted').map((e) => e.taskId));
  cluster.run('kill', String(cluster.instanceIndex(owner)));
  const killedAt = Date.now();
  const seqAtKill = followers[0].last();

  const events = await expectAllComplete(followers);
  assert.ok(events.at(-1).success, 'the run succeeded after the takeover');
  const redispatch = events.find((e) => e.seq > seqAtKill && e.type === 'taskStarted');
  assert.ok(redispatch, 'a task was dispatched after the kill');
  const failoverMs = redispatch.ts - killedAt;
  console.log(`failover: ${failoverMs} ms from kill -9 to the next task dispatched (lease ${cluster.leaseTtl} s)`);
  assert.ok(failoverMs <= cluster.leaseTtl * 1000 + 1000, `taken over within the lease plus a second (${failoverMs} ms)`);
  for (const e of events) {
    if (e.seq > seqAtKill && e.type === 'taskStarted') assert.ok(!doneBefore.has(e.taskId), `${e.taskId} ran again`);
  }
  const s = await cluster.state(cluster.lb, id);
  assert.notEqual(s.instance.id, owner);
  assert.ok(followers.some((f) => f.reconnects > 0), 'clients of the dead instance reconnected');
  cluster.run('start', String(cluster.instanceIndex(owner)));
});

test('Redis restarted mid-run: no gap, no duplicate', async () => {
  const id = await cluster.design(cluster.lb, EXAMPLE1, { simulateLatency: 0.06, cache: false });
  const followers = followEverywhere(id);
  await until('a completed task', () => followers[0].events.some((e) => e.type === 'taskCompleted'));
  cluster.run('redis', 'stop');
  await sleep(1500);
  cluster.run('redis', 'start');
  const events = await expectAllComplete(followers);
  assert.ok(events.at(-1).success);
});

test('PostgreSQL stopped and started mid-run: 503s meanwhile, nothing lost', async () => {
  const id = await cluster.design(cluster.lb, EXAMPLE1, { simulateLatency: 0.06, cache: false });
  const followers = followEverywhere(id);
  await until('a completed task', () => followers[0].events.some((e) => e.type === 'taskCompleted'));
  cluster.run('postgres', 'stop');
  const refused = await cluster.request(cluster.lb, 'POST', '/api/design', { request: 'Add a cache in front of the product catalog' });
  assert.equal(refused.status, 503, refused.text);
  assert.match(refused.json.error.message, /PostgreSQL unavailable/);
  await sleep(1500);
  cluster.run('postgres', 'start');
  const events = await expectAllComplete(followers);
  assert.ok(events.at(-1).success, 'the run finished after the outage');
  const s = await until('the final record', async () => {
    const st = await cluster.state(cluster.lb, id);
    return st.status === 'completed' ? st : null;
  });
  assert.ok(s.tasks.every((t) => t.status === 'completed'));
  // New work is accepted again.
  const next = await cluster.design(cluster.lb, 'Add a cache in front of the product catalog');
  await cluster.follow('sse', cluster.lb, next).done;
});
