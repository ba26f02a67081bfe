// Shared by the browser tests: a real `youmeyou serve` on a free port (in
// memory, in a temporary directory) and Debian's chromium driven by
// playwright-core, offline. Screenshots go to $YOUMEYOU_WEB_ARTIFACTS.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
export const bin = process.env.YOUMEYOU_BIN ?? path.join(repo, 'build', 'youmeyou');
export const webDist = process.env.YOUMEYOU_WEB_DIST ?? path.join(repo, 'web', 'dist');
export const artifacts = process.env.YOUMEYOU_WEB_ARTIFACTS ?? path.join(repo, 'build', 'web-artifacts');
export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const EXAMPLE1 =
  'Build a complete e-commerce platform with user auth, product catalog, shopping cart, and payment processing';
export const EXAMPLE2 = 'Fix the auth service in my design and make it scalable to 5000 RPS';
export const EXAMPLE3_PROMPT =
  'Create database schema for users, products, orders, carts, payments, AND recommendation engine with user behavior tracking, product similarity, and recommendation history';

/** Starts `youmeyou serve --port 0 --memory`; resolves with its base URL once it has printed it. */
export async function startServer(extra = []) {
  if (!existsSync(path.join(webDist, 'index.html'))) {
    throw new Error(`the web app is not built in ${webDist}: run \`make build\` (npm run build in web/)`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'ymy-web-'));
  const child = spawn(bin, ['serve', '--port', '0', '--memory', '--web', webDist, '--modification-cooldown', '0', ...extra], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`youmeyou serve did not start in 20 s: ${stderr}`)), 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/serving on (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`youmeyou serve exited with ${code}: ${stderr}`));
    });
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => {
          const t = setTimeout(() => {
            child.kill('SIGKILL');
            r();
          }, 5000);
          child.on('exit', () => {
            clearTimeout(t);
            r();
          });
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Headless chromium, no network beyond loopback, one page at 1440x900. */
export async function openBrowser() {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--headless=new',
      '--disable-gpu',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-dev-shm-usage',
      '--disable-extensions',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--metrics-recording-only',
    ],
  });
  return { browser, ...(await newPage(browser)) };
}

/** A page in a context of its own (its own storage: another person at another browser). */
export async function newPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/WebSocket|net::ERR_FAILED|EventSource|Failed to load resource/.test(m.text())) {
      problems.push(`console error: ${m.text()}`);
    }
  });
  page.setDefaultTimeout(30_000);
  return { context, page, problems };
}

export async function screenshot(page, name) {
  mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** From the project list: a new project, optionally from a canvas file; resolves on its page. */
export async function createProject(page, name, canvasFile) {
  await page.getByTestId('new-project').click();
  await page.getByTestId('project-name-input').fill(name);
  if (canvasFile) await page.getByTestId('canvas-file').setInputFiles(canvasFile);
  await page.getByTestId('create-project').click();
  await page.getByTestId('project-name').filter({ hasText: name }).waitFor();
}

/** On the sign-in page: creates an account (or signs in) and waits for the project list. */
export async function signUp(page, email, password) {
  await page.getByTestId('auth-form').waitFor();
  if ((await page.getByTestId('auth-form').getAttribute('data-mode')) !== 'register') await page.getByTestId('auth-switch').click();
  await page.locator('[data-testid="auth-form"][data-mode="register"]').waitFor();
  await page.getByTestId('auth-email').fill(email);
  await page.getByTestId('auth-password').fill(password);
  await page.getByTestId('auth-submit').click();
  await page.getByTestId('account-email').filter({ hasText: email }).waitFor();
}

export async function signIn(page, email, password) {
  await page.locator('[data-testid="auth-form"][data-mode="login"]').waitFor();
  await page.getByTestId('auth-email').fill(email);
  await page.getByTestId('auth-password').fill(password);
  await page.getByTestId('auth-submit').click();
}

/** Types a request in the request box with a pace, and sends it. */
export async function ask(page, text, pace) {
  await page.getByTestId('pace').selectOption(String(pace));
  await page.getByTestId('request-input').fill(text);
  await page.getByTestId('send-request').click();
  await page.getByTestId('run-card').last().waitFor();
}

export async function waitRunStatus(page, status, timeout = 90_000) {
  await page.locator(`[data-testid="plan"][data-run-status="${status}"]`).waitFor({ timeout });
}

/** The stream's record, through the page's test hook. */
export function streamStats(page) {
  return page.evaluate(() => {
    const s = window.__ymy?.stream();
    return s ? { delivered: [...s.stats.delivered], duplicatesDropped: s.stats.duplicatesDropped, transports: [...s.stats.transports], executionId: s.executionId } : null;
  });
}

export function graph(page) {
  return page.evaluate(() => {
    const g = window.__ymy.graph();
    return {
      nodes: g.nodes.map((n) => ({ id: n.id, kind: n.data.kind, label: n.data.label, highlight: n.data.highlight ?? null, config: n.data.config })),
      edges: g.edges.map((e) => ({ id: e.id, source: e.source, target: e.target })),
    };
  });
}

/** Every seq from 1 to the server's last, each once, in order. */
export function assertEveryEventOnce(assert, delivered, lastSeq) {
  assert.equal(delivered.length, lastSeq, `delivered ${delivered.length} events, the server logged ${lastSeq}`);
  delivered.forEach((seq, i) => assert.equal(seq, i + 1, `event #${i + 1} was seq ${seq}`));
}
