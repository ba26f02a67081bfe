// Scale-out figures on a local cluster (scripts/cluster: PostgreSQL, Redis,
// N instances, nginx with TLS), through the load balancer:
//   node bench/cluster_bench.mjs throughput [--instances 1,2,3] [--seconds 20] [--concurrency 8]
//     executions completed per second (builtin engine, no simulated latency,
//     cache off, a varied set of requests), with 1, 2 and 3 instances;
//   node bench/cluster_bench.mjs failover [--runs 5] [--lease-ttl 5]
//     time from kill -9 of the instance running an execution to the next
//     task dispatched by the instance that took it over.
// Needs `make build` (build/youmeyou) and `scripts/setup`.

import { Cluster, until } from '../tests/cluster/lib.mjs';

const args = process.argv.slice(2);
const mode = args[0];
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };

const REQUESTS = [
  'Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing',
  'Build a social network with profiles, posts, likes, a news feed and notifications',
  'Scale the auth service to 5000 RPS',
  'Add a Redis cache in front of the product catalog',
  'Build a ride sharing backend with drivers, riders, trip matching and payments',
  'Add rate limiting to the API gateway',
  'Build a blog platform with comments, tags and full-text search',
  'Add monitoring and alerting for the order service',
];

async function throughput() {
  const seconds = Number(opt('seconds', 20));
  const concurrency = Number(opt('concurrency', 8));
  for (const n of opt('instances', '1,2,3').split(',').map(Number)) {
    const cluster = Cluster.up(n);
    try {
      let next = 0, completed = 0, failed = 0;
      const reasons = new Map();
      const note = (why) => reasons.set(why, (reasons.get(why) ?? 0) + 1);
      const worker = async (deadline, count) => {
        while (Date.now() < deadline) {
          const request = REQUESTS[next++ % REQUESTS.length];
          try {
            const id = await cluster.design(cluster.lb, request, { cache: false });
            const events = await cluster.follow('poll', cluster.lb, id).done;
            if (count) {
              if (events.at(-1).success) completed++;
              else { failed++; note(`${request}: ${JSON.stringify(events.at(-1)).slice(0, 200)}`); }
            }
          } catch (e) { if (count) { failed++; note(e.message.slice(0, 200)); } }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, () => worker(Date.now() + 3000, false)));  // warm up
      const start = Date.now();
      await Promise.all(Array.from({ length: concurrency }, () => worker(start + seconds * 1000, true)));
      const elapsed = (Date.now() - start) / 1000;
      console.log(`instances=${n} concurrency=${concurrency} completed=${completed} failed=${failed} ` +
                  `seconds=${elapsed.toFixed(1)} executions_per_second=${(completed / elapsed).toFixed(1)}`);
      for (const [why, n] of reasons) console.log(`  failed ${n}x: ${why}`);
    } finally {
      cluster.down();
    }
  }
}

async function failover() {
  const runs = Number(opt('runs', 5));
  const leaseTtl = Number(opt('lease-ttl', 5));
  const cluster = Cluster.up(3, { leaseTtl });
  const times = [];
  try {
    for (let r = 0; r < runs; r++) {
      const id = await cluster.design(cluster.lb, REQUESTS[0], { simulateLatency: 0.1, cache: false });
      const f = cluster.follow('ws', cluster.lb, id);
      await until('two completed tasks', () => f.events.filter((e) => e.type === 'taskCompleted').length >= 2);
      const owner = (await cluster.state(cluster.lb, id)).instance.id;
      const seqAtKill = f.last();
      cluster.run('kill', String(cluster.instanceIndex(owner)));
      const killedAt = Date.now();
      const events = await f.done;
      const redispatch = events.find((e) => e.seq > seqAtKill && e.type === 'taskStarted');
      times.push(redispatch.ts - killedAt);
      console.log(`run ${r + 1}: ${owner} killed; next task dispatched after ${redispatch.ts - killedAt} ms`);
      cluster.run('start', String(cluster.instanceIndex(owner)));
    }
    console.log(`failover (lease ${leaseTtl} s, ${runs} runs): median ${median(times)} ms, ` +
                `min ${Math.min(...times)} ms, max ${Math.max(...times)} ms`);
  } finally {
    cluster.down();
  }
}

if (mode === 'throughput') await throughput();
else if (mode === 'failover') await failover();
else {
  console.error('usage: node bench/cluster_bench.mjs throughput|failover [options] (see the top of this file)');
  process.exit(2);
}
