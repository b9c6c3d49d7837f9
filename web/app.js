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
