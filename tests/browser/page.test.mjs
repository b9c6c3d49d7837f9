// The teaching page in a real browser: `cirl serve` on a free loopback port, Debian's Chromium (headless) driven
// by playwright-core. Moving a slider updates the page; the Δ it shows is the CLI's for the same inputs, to the
// last digit; the page makes no request outside the server; an update takes under 50 ms (measured, reported).
//
// Run: node --test tests/browser/ (needs CIRL_BIN, default target/release/cirl, and CHROMIUM, default
// /usr/bin/chromium). The screenshot goes to SCREENSHOT (default target/web/offswitch.png).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const bin = process.env.CIRL_BIN || resolve(root, "target/release/cirl");
const shot = process.env.SCREENSHOT || resolve(root, "target/web/offswitch.png");

let server, url, browser, page;
const requests = [];

before(async () => {
  server = spawn(bin, ["serve", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  url = await new Promise((ok, fail) => {
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/(http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) ok(m[1]);
    });
    server.on("exit", (code) => fail(new Error(`cirl serve exited with ${code}: ${out}`)));
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1100, height: 1400 } });
  page.on("request", (r) => requests.push(r.url()));
  page.on("pageerror", (e) => { throw e; });
  // For a failure's diagnosis: what the page logged and which requests failed.
  page.on("console", (m) => { if (m.type() === "error") console.log(`page console: ${m.text()}`); });
  page.on("requestfailed", (r) => console.log(`request failed: ${r.url()} ${r.failure()?.errorText}`));
});

after(async () => {
  await browser?.close();
  server?.kill();
});

/// Waits until the page has finished `n` updates in all.
async function updates(n) {
  await page.waitForFunction((k) => Number(document.body.dataset.updates || 0) >= k, n, { timeout: 20000 });
}

function cli(prior, human, cost) {
  const out = execFileSync(bin, ["offswitch", "--prior", prior, "--human", human, "--cost", cost, "--json"]);
  return JSON.parse(out.toString());
}

async function shown() {
  const v = {};
  for (const k of ["mu", "sigma", "beta", "cost"]) v[k] = await page.inputValue(`#${k}`);
  for (const k of ["v_act", "v_wait", "v_off", "delta", "p_allow", "decision", "command"]) {
    v[k] = await page.textContent(`#${k}`);
  }
  return v;
}

test("moving a slider shows the CLI's numbers, fast, offline", async () => {
  await page.goto(url);
  await updates(1);
  let v = await shown();
  assert.equal(v.command, `cirl offswitch --prior normal:${v.mu},${v.sigma} --human boltzmann:${v.beta} --cost ${Number(v.cost)} --json`);

  // Move σ down with the keyboard, one step at a time, as a student would; each step is one update.
  const latencies = [];
  await page.focus("#sigma");
  for (let i = 0; i < 30; i++) {
    const before = Number(await page.evaluate(() => document.body.dataset.updates));
    await page.keyboard.press("ArrowLeft");
    await updates(before + 1);
    latencies.push(Number(await page.evaluate(() => document.body.dataset.latency)));
  }
  // And β up, which crosses the frontier for this μ.
  await page.focus("#beta");
  for (let i = 0; i < 30; i++) {
    const before = Number(await page.evaluate(() => document.body.dataset.updates));
    await page.keyboard.press("ArrowRight");
    await updates(before + 1);
    latencies.push(Number(await page.evaluate(() => document.body.dataset.latency)));
  }
  v = await shown();
  assert.equal(v.sigma, "0.7");
  assert.equal(v.beta, "0.8");
  const c = cli(`normal:${v.mu},${v.sigma}`, `boltzmann:${v.beta}`, v.cost);
  for (const k of ["v_act", "v_wait", "v_off", "delta", "p_allow"]) {
    assert.equal(v[k], String(c[k]), `${k}: the page shows ${v[k]}, the CLI prints ${c[k]}`);
  }
  assert.equal(v.decision, c.decision);
  assert.equal(await page.textContent("#status"), "");

  // The (σ, β) map has its frontier and the current point.
  assert.equal(await page.locator("#map .frontier").count(), 1);
  assert.equal(await page.locator("#map .here").count(), 1);
  assert.ok(await page.locator("#map .cells rect").count() >= 40 * 31);

  latencies.sort((a, b) => a - b);
  const median = latencies[Math.floor(latencies.length / 2)];
  const p95 = latencies[Math.floor(latencies.length * 0.95)];
  console.log(`update latency over ${latencies.length} slider steps: median ${median} ms, p95 ${p95} ms, max ${latencies.at(-1)} ms`);
  assert.ok(p95 < 50, `p95 update latency ${p95} ms`);

  // Offline: every request went to the server.
  assert.ok(requests.length > 0);
  for (const r of requests) assert.ok(r.startsWith(url), `a request outside the server: ${r}`);

  mkdirSync(dirname(shot), { recursive: true });
  await page.locator("#offswitch").screenshot({ path: shot });
});

test("a bad request from the page is shown as an error line", async () => {
  const r = await page.evaluate(async () => {
    const x = await fetch("/api/offswitch", { method: "POST", body: "{\"prior\":\"normal:0,-1\",\"human\":\"rational\"}" });
    return { status: x.status, body: await x.json() };
  });
  assert.equal(r.status, 400);
  assert.match(r.body.error, /prior/);
});

function cliSolve(args) {
  return JSON.parse(execFileSync(bin, ["solve", ...args]).toString());
}

test("the CIRL view steps through the CLI's episode", async () => {
  await page.goto(url);
  await page.waitForFunction(() => Number(document.body.dataset.cirlUpdates || 0) >= 1, null, { timeout: 20000 });
  const before = Number(await page.evaluate(() => document.body.dataset.cirlUpdates));
  await page.selectOption("#cirl-theta", "red");
  await page.waitForFunction((k) => Number(document.body.dataset.cirlUpdates) > k, before, { timeout: 20000 });
  const command = await page.textContent("#cirl-command");
  assert.equal(command, "cirl solve red-blue --set human=env --theta red --seed 0 --histories 1 --json");
  const c = cliSolve(command.split(" ").slice(2));
  assert.equal(await page.textContent("#cirl-value"), String(c.value));
  assert.equal(await page.textContent("#cirl-return"), String(c.histories[0].discounted_return));
  const steps = c.histories[0].steps;
  const rows = await page.$$eval("#cirl-steps tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  assert.equal(rows.length, steps.length);
  rows.forEach((r, t) => {
    assert.deepEqual([r[1], r[3], r[4], r[5]], [steps[t].state, steps[t].robot, steps[t].human, String(steps[t].reward)]);
  });
  // Step to the junction: the Q-values shown are the CLI's, to the last digit, and waiting is the best move.
  await page.click("#cirl-next");
  const q = await page.$$eval("#cirl-qvalues tr:nth-child(2) td", (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(q, steps[1].q.map((x) => String(x.value)));
  assert.match(await page.textContent("#cirl-why"), /plays wait, worth 1\.900.*depends on θ/);
  assert.equal(await page.locator("#cirl-steps tr.current").count(), 1);
  // Wormy apples with a coordinated human: the page asks again and shows that game's θ's.
  const n = Number(await page.evaluate(() => document.body.dataset.cirlUpdates));
  await page.selectOption("#cirl-game", "wormy-apples");
  await page.waitForFunction((k) => Number(document.body.dataset.cirlUpdates) >= k + 1, n, { timeout: 20000 });
  const thetas = await page.$$eval("#cirl-theta option", (os) => os.map((o) => o.value));
  assert.deepEqual(thetas, ["compost", "trash"]);
  assert.equal(await page.textContent("#cirl-status"), "");
  assert.equal(await page.isVisible("#cirl-two-phase"), true);
  for (const r of requests) assert.ok(r.startsWith(url), `a request outside the server: ${r}`);
  await page.locator("#cirl").screenshot({ path: shot.replace(/offswitch\.png$/, "cirl.png") });
});

test("the agent view shows the card cirl calibrate writes, and its flip point", async () => {
  await page.goto(url);
  await page.waitForFunction(() => Number(document.body.dataset.agentUpdates || 0) >= 1, null, { timeout: 20000 });
  assert.equal(await page.textContent("#a-move"), "ask");
  // Lower the reviewer's catch rate a step at a time: past the flip point the page lists, asking stops paying.
  const flips = await page.textContent("#a-flips");
  const at = Number(flips.match(/catch-bad \(now 0\.5\): block below ([0-9.]+), ask above/)[1]);
  const latencies = [];
  await page.focus("#a-catch");
  let steps = 0;
  while (Number(await page.inputValue("#a-catch")) > at) {
    const before = Number(await page.evaluate(() => document.body.dataset.agentUpdates));
    await page.keyboard.press("ArrowLeft");
    await page.waitForFunction((k) => Number(document.body.dataset.agentUpdates) > k, before, { timeout: 20000 });
    latencies.push(Number(await page.evaluate(() => document.body.dataset.agentLatency)));
    steps++;
  }
  assert.ok(steps >= 10, `${steps} steps`);
  assert.equal(await page.textContent("#a-move"), "block");
  assert.equal(await page.textContent("#a-status"), "");
  // The numbers are the CLI's, from the scenario and the command the page shows.
  const dir = mkdtempSync(join(tmpdir(), "cirl-agent-"));
  writeFileSync(join(dir, "agent.toml"), await page.textContent("#a-scenario"));
  const command = await page.textContent("#a-command");
  assert.equal(command, "cirl calibrate agent.toml --mc 0 --json");
  const card = JSON.parse(execFileSync(bin, [...command.split(" ").slice(1), "--quiet"], { cwd: dir }).toString());
  rmSync(dir, { recursive: true, force: true });
  const c = card.classes[0];
  assert.equal(c.move, "block");
  for (const k of ["act", "ask", "block", "hand_over"]) {
    assert.equal(await page.textContent(`#a-v-${k}`), String(c.values[k]), k);
  }
  assert.equal(await page.textContent("#a-p-good"), String(c.p_good));
  assert.equal(await page.locator("#a-regions rect").count(), c.regions.length);
  latencies.sort((a, b) => a - b);
  const median = latencies[Math.floor(latencies.length / 2)];
  const p95 = latencies[Math.floor(latencies.length * 0.95)];
  console.log(`agent view update latency over ${latencies.length} slider steps: median ${median} ms, p95 ${p95} ms, max ${latencies.at(-1)} ms`);
  // Each update recomputes the whole card (the rival policies' risk, the flip points).
  assert.ok(p95 < 50, `p95 update latency ${p95} ms`);
  // With a per-call confidence the class's calls are routed by it: the regions and the CLI's card agree.
  const n = Number(await page.evaluate(() => document.body.dataset.agentUpdates));
  await page.check("#a-confidence");
  await page.waitForFunction((k) => Number(document.body.dataset.agentUpdates) > k, n, { timeout: 20000 });
  console.log(`agent view update with per-call confidence: ${await page.evaluate(() => document.body.dataset.agentLatency)} ms`);
  assert.match(await page.textContent("#a-scenario"), /auroc = 0\.7/);
  assert.ok(await page.locator("#a-regions rect").count() >= 2);
  for (const r of requests) assert.ok(r.startsWith(url), `a request outside the server: ${r}`);
  await page.locator("#agent").screenshot({ path: shot.replace(/offswitch\.png$/, "agent.png") });
});
