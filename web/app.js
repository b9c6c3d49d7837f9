// The page's behaviour: read the sliders, ask cirl's API (POST /api/<name>), draw what it answers. No number
// shown here is computed in JavaScript; this file only lays them out.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

async function api(name, body) {
  const r = await fetch("/api/" + name, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const v = await r.json();
  if (!r.ok) throw new Error(v.error || r.statusText);
  return v;
}

// A plot area in a 420 × 240 viewBox: x and y map data ranges to pixels.
function frame(svg, xr, yr) {
  const m = { l: 44, r: 10, t: 10, b: 30 };
  const w = 420 - m.l - m.r, h = 240 - m.t - m.b;
  return {
    x: (v) => m.l + ((v - xr[0]) / (xr[1] - xr[0])) * w,
    y: (v) => m.t + h - ((v - yr[0]) / (yr[1] - yr[0])) * h,
    m, w, h, xr, yr,
  };
}

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function text(parent, x, y, s, anchor) {
  const t = el("text", { x, y, "text-anchor": anchor || "middle" }, parent);
  t.textContent = s;
  return t;
}

function axes(svg, f, xlabel, ylabel) {
  const g = el("g", { class: "axes" }, svg);
  el("line", { x1: f.m.l, y1: f.m.t + f.h, x2: f.m.l + f.w, y2: f.m.t + f.h }, g);
  el("line", { x1: f.m.l, y1: f.m.t, x2: f.m.l, y2: f.m.t + f.h }, g);
  for (let i = 0; i <= 4; i++) {
    const xv = f.xr[0] + ((f.xr[1] - f.xr[0]) * i) / 4;
    text(g, f.x(xv), f.m.t + f.h + 14, +xv.toFixed(2));
    const yv = f.yr[0] + ((f.yr[1] - f.yr[0]) * i) / 4;
    text(g, f.m.l - 4, f.y(yv) + 4, +yv.toFixed(2), "end");
  }
  text(g, f.m.l + f.w / 2, 238, xlabel);
  const yl = text(g, 10, f.m.t + f.h / 2, ylabel);
  yl.setAttribute("transform", `rotate(-90 10 ${f.m.t + f.h / 2})`);
}

function drawCurves(c) {
  const svg = $("curves");
  svg.replaceChildren();
  const u = c.u;
  const dmax = c.density ? Math.max(...c.density) : 1;
  const f = frame(svg, [u[0], u[u.length - 1]], [0, 1]);
  axes(svg, f, "U, the action's worth to the human", "probability");
  if (c.density) {
    const pts = u.map((x, i) => `${f.x(x)},${f.y(c.density[i] / dmax)}`);
    el("polygon", {
      class: "belief",
      points: `${f.x(u[0])},${f.y(0)} ${pts.join(" ")} ${f.x(u[u.length - 1])},${f.y(0)}`,
    }, svg);
  }
  for (const a of c.atoms || []) {
    el("line", { class: "atom", x1: f.x(a.u), y1: f.y(0), x2: f.x(a.u), y2: f.y(a.p) }, svg);
  }
  if (u[0] < 0 && u[u.length - 1] > 0) {
    el("line", { class: "zero", x1: f.x(0), y1: f.y(0), x2: f.x(0), y2: f.y(1) }, svg);
  }
  el("polyline", {
    class: "policy",
    points: u.map((x, i) => `${f.x(x)},${f.y(c.p_allow[i])}`).join(" "),
  }, svg);
}

// The map is redrawn when its data change (μ or c moved); moving σ or β only moves the dot.
let mapFrame = null;

function drawMap(m) {
  const svg = $("map");
  svg.replaceChildren();
  const s = m.sigma, b = m.beta;
  const f = frame(svg, [s[0], s[s.length - 1]], [b[0], b[b.length - 1]]);
  const dw = f.w / (s.length - 1), dh = f.h / (b.length - 1);
  const g = el("g", { class: "cells" }, svg);
  const big = Math.max(1e-12, ...m.delta.flat().map(Math.abs));
  m.delta.forEach((col, i) => col.forEach((d, j) => {
    const a = 0.15 + 0.85 * Math.sqrt(Math.abs(d) / big);
    el("rect", {
      x: f.x(s[i]) - dw / 2, y: f.y(b[j]) - dh / 2, width: dw + 0.5, height: dh + 0.5,
      class: d > 0 ? "ask" : d < 0 ? "act" : "tie", "fill-opacity": a.toFixed(3),
    }, g);
  }));
  axes(svg, f, "σ, the robot's uncertainty", "β, the human's noise");
  const pts = m.frontier.slice().sort((p, q) => p.sigma - q.sigma);
  if (pts.length) {
    el("polyline", { class: "frontier", points: pts.map((p) => `${f.x(p.sigma)},${f.y(p.beta)}`).join(" ") }, svg);
  }
  el("circle", { class: "here", r: 5 }, svg);
  mapFrame = f;
}

function placeDot(sigma, beta) {
  const c = $("map").querySelector(".here");
  c.setAttribute("cx", mapFrame.x(sigma));
  c.setAttribute("cy", mapFrame.y(beta));
}

const inputs = ["mu", "sigma", "beta", "cost"];
let mapKey = null, busy = false, dirty = false;

function specs() {
  const v = Object.fromEntries(inputs.map((k) => [k, $(k).value]));
  return {
    v,
    prior: `normal:${v.mu},${v.sigma}`,
    human: `boltzmann:${v.beta}`,
    cost: Number(v.cost),
  };
}

// One update: ask the API for the slider's current values and show the answers. Inputs that arrive meanwhile
// are folded into one more update when this one ends.
async function update() {
  busy = true;
  dirty = false;
  const started = performance.now();
  const s = specs();
  for (const k of inputs) $(k + "-out").textContent = s.v[k];
  try {
    const key = `${s.v.mu}|${s.v.cost}`;
    const jobs = [
      api("offswitch", { prior: s.prior, human: s.human, cost: s.cost }),
      api("curves", { prior: s.prior, human: s.human, points: 201 }),
    ];
    if (key !== mapKey) {
      jobs.push(api("frontier", {
        mu: Number(s.v.mu), cost: s.cost,
        sigma: { lo: 0.05, hi: 3, n: 40 }, beta: { lo: 0, hi: 3, n: 31 },
      }));
    }
    const [r, c, m] = await Promise.all(jobs);
    for (const k of ["v_act", "v_wait", "v_off", "delta", "p_allow"]) $(k).textContent = String(r[k]);
    $("decision").textContent = r.decision;
    $("tie").textContent = r.tie ? `yes: ${r.tied.join(", ")}` : "no";
    $("command").textContent = r.command;
    $("why").textContent = explain(r);
    drawCurves(c);
    if (m) {
      drawMap(m);
      mapKey = key;
    }
    placeDot(Number(s.v.sigma), Number(s.v.beta));
    $("status").textContent = "";
  } catch (e) {
    $("status").textContent = "error: " + e.message;
  }
  document.body.dataset.latency = (performance.now() - started).toFixed(2);
  document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  busy = false;
  if (dirty) update();
}

function explain(r) {
  const d = r.delta;
  if (r.tie) return `Δ is zero within ${r.tie_tol}: the robot is indifferent between ${r.tied.join(" and ")}.`;
  if (r.decision === "wait") {
    return `Asking is worth ${d.toPrecision(3)} more than the robot's best move on its own: its doubt about U ` +
      `is worth more than the human's mistakes and the cost of asking.`;
  }
  const alone = r.decision === "act" ? "acting" : "switching off";
  return `The robot does better ${alone} on its own by ${(-d).toPrecision(3)}: it is sure enough, or the ` +
    `human noisy enough, that asking costs more than it reveals.`;
}

function schedule() {
  if (busy) dirty = true;
  else update();
}

for (const k of inputs) $(k).addEventListener("input", schedule);
schedule();

// ---- The CIRL view: one episode of a solved game, stepped through. The API solves the game and records the
// episode (`cirl solve GAME --histories 1`); stepping only moves through what it answered.

// Bars in a 420 × 240 viewBox: one per label, `dark` the index drawn dark; `light` an optional second series.
function bars(svg, labels, values, opts) {
  svg.replaceChildren();
  const all = values.concat(opts.light || []);
  const lo = Math.min(0, ...all), hi = Math.max(opts.max ?? 0, ...all, lo + 1e-9);
  const f = frame(svg, [0, labels.length], [lo, hi]);
  const g = el("g", { class: "axes" }, svg);
  el("line", { x1: f.m.l, y1: f.y(0), x2: f.m.l + f.w, y2: f.y(0) }, g);
  el("line", { x1: f.m.l, y1: f.m.t, x2: f.m.l, y2: f.m.t + f.h }, g);
  for (let i = 0; i <= 4; i++) {
    const yv = lo + ((hi - lo) * i) / 4;
    text(g, f.m.l - 4, f.y(yv) + 4, +yv.toFixed(2), "end");
  }
  text(g, f.m.l + f.w / 2, 238, opts.xlabel);
  const yl = text(g, 10, f.m.t + f.h / 2, opts.ylabel);
  yl.setAttribute("transform", `rotate(-90 10 ${f.m.t + f.h / 2})`);
  const w = f.w / labels.length;
  labels.forEach((name, i) => {
    const x0 = f.m.l + i * w;
    const series = opts.light ? [[opts.light[i], "light", 0.08], [values[i], "dark", 0.5]] : [[values[i], i === opts.dark ? "dark" : "light", 0.15]];
    for (const [v, cls, off] of series) {
      const y = f.y(Math.max(v, 0)), y0 = f.y(Math.min(v, 0));
      el("rect", { class: "bar " + cls, x: x0 + w * off, y, width: w * (opts.light ? 0.42 : 0.7), height: Math.max(0.5, y0 - y) }, svg);
    }
    text(svg, x0 + w / 2, f.m.t + f.h + 14, name);
    const v = values[i];
    text(svg, x0 + w / 2, f.y(Math.max(v, 0)) - 3, Number.isFinite(v) ? v.toPrecision(4) : String(v));
  });
}

const cirl = { data: null, at: 0, busy: false, dirty: false };

function cirlRequest() {
  const game = $("cirl-game").value;
  const body = { game, human: $("cirl-human").value, seed: Number($("cirl-seed").value) || 0 };
  if ($("cirl-theta").value) body.theta = $("cirl-theta").value;
  if (game === "wormy-apples" && $("cirl-two-phase").checked) body.set = { two_phase: true };
  return body;
}

async function cirlUpdate() {
  cirl.busy = true;
  cirl.dirty = false;
  const started = performance.now();
  document.querySelectorAll(".only-wormy").forEach((e) => { e.hidden = $("cirl-game").value !== "wormy-apples"; });
  try {
    const r = await api("cirl", cirlRequest());
    const sel = $("cirl-theta");
    const names = r.names.thetas;
    if ([...sel.options].map((o) => o.value).join("|") !== names.join("|")) {
      const keep = names.includes(sel.value) ? sel.value : names[names.length - 1];
      sel.replaceChildren(...names.map((n) => new Option(n, n)));
      sel.value = keep;
      cirl.busy = false;
      return cirlUpdate(); // ask again with a θ of this game
    }
    cirl.data = r;
    cirl.at = 0;
    $("cirl-value").textContent = String(r.value);
    $("cirl-return").textContent = String(r.histories[0].discounted_return);
    $("cirl-first").textContent = r.initial_action;
    $("cirl-command").textContent = r.command;
    cirlTable();
    cirlShow();
    $("cirl-status").textContent = "";
  } catch (e) {
    $("cirl-status").textContent = "error: " + e.message;
  }
  document.body.dataset.cirlLatency = (performance.now() - started).toFixed(2);
  document.body.dataset.cirlUpdates = String(Number(document.body.dataset.cirlUpdates || 0) + 1);
  cirl.busy = false;
  if (cirl.dirty) cirlUpdate();
}

function beliefBefore(t) {
  const h = cirl.data.histories[0];
  return t === 0 ? cirl.data.names.prior : h.steps[t - 1].belief;
}

function fmtBelief(b) {
  return cirl.data.names.thetas.map((n, i) => `${n} ${+b[i].toFixed(3)}`).join(", ");
}

function cirlTable() {
  const body = $("cirl-steps").querySelector("tbody");
  const steps = cirl.data.histories[0].steps;
  body.replaceChildren(...steps.map((st, t) => {
    const tr = document.createElement("tr");
    for (const v of [t, st.state, fmtBelief(beliefBefore(t)), st.robot, st.human, st.reward, fmtBelief(st.belief)]) {
      const td = document.createElement("td");
      td.textContent = String(v);
      tr.appendChild(td);
    }
    tr.addEventListener("click", () => { cirl.at = t; cirlShow(); });
    return tr;
  }));
}

function cirlShow() {
  const steps = cirl.data.histories[0].steps;
  const t = cirl.at, st = steps[t];
  $("cirl-steps").querySelectorAll("tbody tr").forEach((tr, i) => tr.classList.toggle("current", i === t));
  $("cirl-at").textContent = `step ${t} of ${steps.length - 1}`;
  $("cirl-prev").disabled = t === 0;
  $("cirl-next").disabled = t === steps.length - 1;
  const names = st.q.map((q) => q.action), qs = st.q.map((q) => q.value);
  bars($("cirl-q"), names, qs, { dark: names.indexOf(st.robot), xlabel: "the robot's move", ylabel: "Q" });
  bars($("cirl-belief"), cirl.data.names.thetas, st.belief,
    { light: beliefBefore(t), max: 1, xlabel: "θ", ylabel: "P(θ)" });
  const [head, row] = $("cirl-qvalues").querySelectorAll("tr");
  head.replaceChildren(...st.q.map((q) => Object.assign(document.createElement("th"), { textContent: `Q(${q.action})` })));
  row.replaceChildren(...st.q.map((q) => Object.assign(document.createElement("td"), {
    textContent: String(q.value), className: q.action === st.robot ? "chosen" : "",
  })));
  $("cirl-why").textContent = cirlExplain(st, t);
}

// The words around the numbers: which move is best and by how much, and what the human's move tells.
function cirlExplain(st, t) {
  const mine = st.q.find((q) => q.action === st.robot);
  const others = st.q.filter((q) => q.action !== st.robot).sort((a, b) => b.value - a.value);
  const tied = others.filter((q) => q.value === mine.value).map((q) => q.action);
  let s = `At step ${t} the robot plays ${st.robot}, worth ${mine.value.toPrecision(4)}. `;
  if (tied.length) s += `It is tied exactly with ${tied.join(", ")}: any of them is optimal. `;
  else if (others.length) {
    s += `The best other move, ${others[0].action}, is worth ${others[0].value.toPrecision(4)}` +
      ` (${(mine.value - others[0].value).toPrecision(3)} less). `;
  }
  const rule = st.human_rule;
  const thetas = Object.keys(rule);
  const says = thetas.map((th) => Object.entries(rule[th]).filter(([, p]) => p > 0).map(([a, p]) => p === 1 ? a : `${a} ${+p.toFixed(3)}`).join(" or "));
  if (new Set(says).size === 1) {
    s += `Whatever θ is, the human plays ${says[0]} here, so this step tells the robot nothing about θ.`;
  } else {
    s += `Here the human's move depends on θ (${thetas.map((th, i) => `${th}: ${says[i]}`).join("; ")}): ` +
      `it played ${st.human}, and the robot's belief moves accordingly.`;
    if (!tied.length && others.length && mine.value > others[0].value && ["wait", "noop"].includes(st.robot)) {
      s += " The robot holds back to see that move first: what it learns is worth more than acting now.";
    }
  }
  return s;
}

function cirlSchedule() {
  if (cirl.busy) cirl.dirty = true;
  else cirlUpdate();
}

// A new game has other θ's: the first answer lists them, and the view asks again with one of them.
$("cirl-game").addEventListener("change", () => $("cirl-theta").replaceChildren());
for (const k of ["cirl-game", "cirl-human", "cirl-theta", "cirl-seed", "cirl-two-phase"]) {
  $(k).addEventListener("change", cirlSchedule);
}
$("cirl-prev").addEventListener("click", () => { if (cirl.at > 0) { cirl.at--; cirlShow(); } });
$("cirl-next").addEventListener("click", () => {
  if (cirl.at < cirl.data.histories[0].steps.length - 1) { cirl.at++; cirlShow(); }
});
cirlSchedule();

// ---- The "your agent" view: one action class through `cirl calibrate` (the API writes the scenario file the
// page shows, and answers the card's class).

const agentInputs = {
  share: "a-share", mean: "a-mean", sd: "a-sd", tail_probability: "a-tail-p", tail_loss: "a-tail-loss",
  undo_cost: "a-undo", approve_good: "a-approve", catch_bad: "a-catch", ask_cost: "a-ask", handover_cost: "a-handover",
};
const agentState = { busy: false, dirty: false };
const MOVE_NAMES = { act: "act", ask: "ask", block: "block", "hand-over": "hand over" };

function agentRequest() {
  const body = {};
  for (const [k, id] of Object.entries(agentInputs)) {
    body[k] = Number($(id).value);
    $(id + "-out").textContent = $(id).value;
  }
  body.reversible = $("a-reversible").checked;
  body.fatigue = $("a-fatigue").checked;
  $("a-undo").disabled = !body.reversible;
  $("a-auroc-out").textContent = $("a-auroc").value;
  $("a-auroc").disabled = !$("a-confidence").checked;
  if ($("a-confidence").checked) body.auroc = Number($("a-auroc").value);
  return body;
}

async function agentUpdate() {
  agentState.busy = true;
  agentState.dirty = false;
  const started = performance.now();
  try {
    const r = await api("agent", agentRequest());
    const c = r.class;
    $("a-move").textContent = MOVE_NAMES[c.move] + (c.tie ? ` (tied with ${c.tied.map((m) => MOVE_NAMES[m]).join(", ")})` : "");
    $("a-move").className = "move-" + c.move;
    $("a-reasons").textContent = "— " + c.reasons.join(", ");
    for (const k of ["act", "ask", "block", "hand_over"]) $("a-v-" + k).textContent = String(c.values[k]);
    $("a-p-good").textContent = String(c.p_good);
    $("a-catch-now").textContent = String(r.reviewer.catch_bad_at_deployed_ask_rate ?? r.reviewer.catch_bad);
    drawRegions(c.regions);
    $("a-flips").replaceChildren(...c.flips.decision.map((f) => {
      const li = document.createElement("li");
      li.textContent = `${f.axis} (now ${f.now}): ` + (f.flips.length
        ? f.flips.map((x) => `${MOVE_NAMES[x.below]} below ${x.at}, ${MOVE_NAMES[x.above]} above`).join("; ")
        : `${MOVE_NAMES[c.move]} throughout [${f.from}, ${f.to}]`);
      return li;
    }));
    $("a-why").textContent = agentExplain(c, r.reviewer);
    $("a-command").textContent = r.command;
    $("a-scenario").textContent = r.scenario;
    $("a-status").textContent = "";
  } catch (e) {
    $("a-status").textContent = "error: " + e.message;
  }
  document.body.dataset.agentLatency = (performance.now() - started).toFixed(2);
  document.body.dataset.agentUpdates = String(Number(document.body.dataset.agentUpdates || 0) + 1);
  agentState.busy = false;
  if (agentState.dirty) agentUpdate();
}

function drawRegions(regions) {
  const svg = $("a-regions");
  svg.replaceChildren();
  const x = (q) => 10 + q * 400;
  for (const g of regions) {
    el("rect", { class: "region " + g.move, x: x(g.reported_from), y: 8, width: Math.max(0.5, x(g.reported_to) - x(g.reported_from)), height: 30 }, svg);
    if (g.reported_to - g.reported_from > 0.06) {
      text(svg, (x(g.reported_from) + x(g.reported_to)) / 2, 28, MOVE_NAMES[g.move]);
    }
  }
  for (let i = 0; i <= 10; i++) text(svg, x(i / 10), 52, (i / 10).toFixed(1));
  text(svg, 210, 66, "the agent's reported confidence that the call is good");
}

function agentExplain(c, reviewer) {
  const v = c.values;
  const best = Object.entries(v).sort((a, b) => b[1] - a[1])[0];
  let s = `At the agent's average confidence the moves are worth: act ${v.act.toPrecision(3)}, ask ${v.ask.toPrecision(3)}, ` +
    `block ${v.block.toPrecision(3)}, hand over ${v.hand_over.toPrecision(3)}. `;
  if (best[0].replace("_", "-") !== c.move) {
    s += `The card still says ${MOVE_NAMES[c.move]}: with a tiring reviewer, asking about every call of the class ` +
      `would lower the catch rate (${reviewer.catch_bad_at_deployed_ask_rate} at the deployed rate) for all of them. `;
  }
  if (c.regions.length > 1) {
    s += "On single calls the agent's own confidence decides: " +
      c.regions.map((g) => `${MOVE_NAMES[g.move]} from ${g.reported_from.toFixed(3)}`).join(", ") + ".";
  }
  return s;
}

function agentSchedule() {
  if (agentState.busy) agentState.dirty = true;
  else agentUpdate();
}

for (const id of [...Object.values(agentInputs), "a-reversible", "a-fatigue", "a-confidence", "a-auroc"]) $(id).addEventListener("input", agentSchedule);
agentSchedule();
