//! Anytime point-based solving of discounted POMDPs with the ideas of HSVI2 (Smith & Simmons 2005) and SARSOP
//! (Kurniawati, Hsu & Lee 2008), on the sparse tables of [`Sparse`].
//!
//! - **Bounds.** The upper bound starts from the fast informed bound (Hauskrecht 2000), iterated down from
//!   max R/(1 − γ), and is refined by (belief, value) points evaluated by sawtooth interpolation; the lower bound
//!   is a set of alpha vectors, each the value of a conditional plan, starting with the blind (one action for
//!   ever) policies iterated up from min R/(1 − γ). Every iterate of both starts is itself a bound, so stopping
//!   them early is safe.
//! - **Search.** Trials descend from the initial belief b0 through a graph of reachable beliefs (identical
//!   beliefs reached by different paths share a node): at each belief the action whose upper Q is largest, then
//!   the observation with the largest weighted excess gap (HSVI2). A trial stops where the gap is within
//!   ε·γ^−t (HSVI2's excess uncertainty, ε a fraction of the current gap at b0) or where the upper bound already
//!   meets the target SARSOP propagates down the path (the value this belief's upper bound must reach for b0's
//!   to reach its own), so beliefs off the optimally reachable space are not refined further than they need.
//!   Every belief of the trial is then backed up, deepest first: one new alpha vector (a point-based backup) and
//!   one new upper point.
//! - **Pruning.** Delayed, belief-based: when the vector count has doubled since the last pass, every vector that
//!   is best at no belief of the graph is dropped.
//! - **Anytime.** It stops at the target gap, at `max_seconds`, after `max_trials`, or when `interrupt` is set
//!   (Ctrl-C in `cirl solve`), and returns its bounds and policy (the alpha vectors) in every case, with the
//!   time at which the gap first reached 10⁻¹, 10⁻² and 10⁻³. No randomness: the same model and options give the
//!   same trials in the same order.
//!
//! ## References
//! - T. Smith, R. Simmons. Point-based POMDP algorithms: improved analysis and implementation. UAI 2005.
//! - H. Kurniawati, D. Hsu, W. S. Lee. SARSOP: efficient point-based POMDP planning by approximating optimally
//!   reachable belief spaces. RSS 2008.
//! - M. Hauskrecht. Value-function approximations for partially observable Markov decision processes. JAIR 2000.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::AlphaSet;
use crate::error::{Error, Result};
use crate::model::sparse::Sparse;

/// Set by `cirl solve`'s Ctrl-C handler: a running solve stops and returns its bounds and policy.
pub static INTERRUPT: AtomicBool = AtomicBool::new(false);

/// Options of the anytime solver.
#[derive(Debug, Clone, Copy)]
pub struct SarsopOptions {
    /// Stop when upper − lower at the initial belief is at most this. Default 1e-3.
    pub precision: f64,
    /// Stop after this many seconds (initialisation included). Default: no limit.
    pub max_seconds: f64,
    /// Stop after this many trials (for runs that must be the same whatever the machine). Default: no limit.
    pub max_trials: u64,
    /// Stop when this flag is set (another thread, or a signal handler, sets it).
    pub interrupt: Option<&'static AtomicBool>,
}

impl Default for SarsopOptions {
    fn default() -> Self {
        SarsopOptions {
            precision: 1e-3,
            max_seconds: f64::INFINITY,
            max_trials: u64::MAX,
            interrupt: None,
        }
    }
}

/// Why the solver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stop {
    /// The gap reached the precision.
    Precision,
    /// `max_seconds` passed.
    Timeout,
    /// `max_trials` trials ran.
    Trials,
    /// The interrupt flag was set.
    Interrupted,
}

/// The bounds at one moment of the run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Progress {
    /// Seconds since the solver started.
    pub seconds: f64,
    /// Trials so far.
    pub trials: u64,
    /// The lower bound at the initial belief.
    pub lower: f64,
    /// The upper bound.
    pub upper: f64,
}

/// What the solver returns.
#[derive(Debug, Clone)]
pub struct SarsopSolution {
    /// The policy: act with the action of the vector maximising α·b.
    pub alphas: AlphaSet,
    /// The lower bound at the initial belief (the policy's value is at least this).
    pub lower: f64,
    /// The upper bound at the initial belief.
    pub upper: f64,
    /// The first moment the gap was at most 10⁻¹, 10⁻² and 10⁻³ (`None`: not reached).
    pub gap_times: [Option<Progress>; 3],
    /// The bounds after initialisation and after every trial that moved them by more than 1% of the gap.
    pub trace: Vec<Progress>,
    /// Trials run.
    pub trials: u64,
    /// Backups (one per belief of each trial).
    pub backups: u64,
    /// Beliefs in the search graph.
    pub beliefs: usize,
    /// Upper-bound points.
    pub upper_points: usize,
    /// Seconds of the initialisation (the two starting bounds).
    pub init_seconds: f64,
    /// Seconds in all.
    pub seconds: f64,
    /// Why it stopped.
    pub stop: Stop,
}

/// The gaps whose first times are reported.
pub const GAPS: [f64; 3] = [1e-1, 1e-2, 1e-3];

/// A sparse belief: states with positive probability, ascending, and their probabilities.
#[derive(Debug, Clone, PartialEq)]
struct Belief {
    idx: Vec<u32>,
    p: Vec<f64>,
}

impl Belief {
    fn dot(&self, v: &[f64]) -> f64 {
        self.idx
            .iter()
            .zip(&self.p)
            .map(|(i, p)| p * v[*i as usize])
            .sum()
    }

    /// A hash of the belief rounded to 10⁻⁹, so that beliefs reached by different paths meet.
    fn key(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.idx.hash(&mut h);
        for p in &self.p {
            ((p * 1e9).round() as i64).hash(&mut h);
        }
        h.finish()
    }

    fn same(&self, other: &Belief) -> bool {
        self.idx == other.idx
            && self
                .p
                .iter()
                .zip(&other.p)
                .map(|(a, b)| (a - b).abs())
                .sum::<f64>()
                <= 1e-9
    }
}

/// One action's successors of a belief: R(b, a) and, per observation with P(o | b, a) > 0, (o, P, node).
#[derive(Debug, Clone)]
struct Branch {
    reward: f64,
    kids: Vec<(u32, f64, usize)>,
}

#[derive(Debug, Clone)]
struct Node {
    b: Belief,
    /// The lower bound, the vector that gives it and how many vectors (by id) it has been compared with.
    lower: f64,
    best: usize,
    lower_seen: usize,
    /// The upper bound, how many upper points it has been compared with, and its own point.
    upper: f64,
    upper_seen: usize,
    point: Option<usize>,
    branches: Option<Vec<Branch>>,
}

/// The upper bound: corner values (a belief's base value is Σ b(s)·corner(s)) and sawtooth points.
struct UpperSet {
    corner: Vec<f64>,
    /// The points in the order they were made: the node whose belief it is, its value, its base value, and
    /// whether it still counts (a node's newer point replaces its older one).
    points: Vec<Point>,
    /// Points that no longer count.
    dead: usize,
}

struct Point {
    node: usize,
    value: f64,
    base: f64,
    live: bool,
}

struct Solver<'m> {
    m: &'m Sparse,
    gamma: f64,
    /// Alpha vectors by id (a pruned one is emptied) and their actions.
    alphas: Vec<Vec<f64>>,
    actions: Vec<usize>,
    live: Vec<bool>,
    live_count: usize,
    /// A live vector to stand for observations a backup cannot reach.
    fallback: usize,
    upper: UpperSet,
    nodes: Vec<Node>,
    index: HashMap<u64, Vec<usize>>,
    /// Dense scratch of |S| entries (kept all zero between uses).
    dense: Vec<f64>,
    backups: u64,
    prune_at: usize,
}

/// Solves a discounted infinite-horizon model (see the module docs).
pub fn solve(m: &Sparse, opt: &SarsopOptions) -> Result<SarsopSolution> {
    if m.horizon.is_some() || m.discount >= 1.0 {
        return Err(Error::invalid(
            "--solver",
            "sarsop solves discounted models without a horizon; for a finite horizon use --solver exact or pbvi",
        ));
    }
    if !(opt.precision.is_finite() && opt.precision > 0.0) {
        return Err(Error::invalid(
            "--tolerance",
            format!("must be a number > 0, got {}", opt.precision),
        ));
    }
    let start = Instant::now();
    let gamma = m.discount;
    let ns = m.n_states();
    let deadline = opt.max_seconds;
    let out_of_time = || {
        start.elapsed().as_secs_f64() >= deadline
            || opt.interrupt.is_some_and(|f| f.load(Ordering::Relaxed))
    };
    let corner = fib(m, opt.precision * (1.0 - gamma) / 10.0, &out_of_time);
    let (alphas, actions) = blind(m, opt.precision * (1.0 - gamma) / 10.0, &out_of_time);
    let init_seconds = start.elapsed().as_secs_f64();
    let n = alphas.len();
    let mut s = Solver {
        m,
        gamma,
        alphas,
        actions,
        live: vec![true; n],
        live_count: n,
        fallback: 0,
        upper: UpperSet {
            corner,
            points: vec![],
            dead: 0,
        },
        nodes: vec![],
        index: HashMap::new(),
        dense: vec![0.0; ns],
        backups: 0,
        prune_at: 2 * n.max(16),
    };
    let b0 = {
        let (idx, p): (Vec<u32>, Vec<f64>) = m
            .initial
            .iter()
            .enumerate()
            .filter(|(_, p)| **p > 0.0)
            .map(|(i, p)| (i as u32, *p))
            .unzip();
        Belief { idx, p }
    };
    s.fallback = (0..n)
        .max_by(|&i, &j| b0.dot(&s.alphas[i]).total_cmp(&b0.dot(&s.alphas[j])))
        .unwrap_or(0);
    let root = s.node(b0);
    let mut trials = 0u64;
    let mut gap_times = [None; 3];
    let mut trace = vec![];
    let mut record = |s: &Solver, trials: u64, trace: &mut Vec<Progress>| {
        let (lower, upper) = (s.nodes[root].lower, s.nodes[root].upper);
        let now = Progress {
            seconds: start.elapsed().as_secs_f64(),
            trials,
            lower,
            upper,
        };
        for (g, t) in GAPS.iter().zip(gap_times.iter_mut()) {
            if t.is_none() && upper - lower <= *g {
                *t = Some(now);
            }
        }
        let moved = trace.last().is_none_or(|p: &Progress| {
            (p.upper - p.lower) - (upper - lower) > 0.01 * (p.upper - p.lower)
        });
        if moved {
            trace.push(now);
        }
    };
    record(&s, 0, &mut trace);
    let stop = loop {
        if s.gap(root) <= opt.precision {
            break Stop::Precision;
        }
        if opt.interrupt.is_some_and(|f| f.load(Ordering::Relaxed)) {
            break Stop::Interrupted;
        }
        if start.elapsed().as_secs_f64() >= deadline {
            break Stop::Timeout;
        }
        if trials >= opt.max_trials {
            break Stop::Trials;
        }
        s.trial(root, &out_of_time);
        trials += 1;
        record(&s, trials, &mut trace);
        if s.live_count >= s.prune_at {
            s.prune();
        }
    };
    let mut last = *trace.last().expect("recorded after initialisation");
    if last.trials != trials {
        last = Progress {
            seconds: start.elapsed().as_secs_f64(),
            trials,
            lower: s.nodes[root].lower,
            upper: s.nodes[root].upper,
        };
        trace.push(last);
    }
    let (lower, upper) = (s.nodes[root].lower, s.nodes[root].upper);
    let live: Vec<usize> = (0..s.alphas.len()).filter(|&i| s.live[i]).collect();
    Ok(SarsopSolution {
        alphas: AlphaSet {
            vectors: live
                .iter()
                .map(|&i| std::mem::take(&mut s.alphas[i]))
                .collect(),
            actions: live.iter().map(|&i| s.actions[i]).collect(),
        },
        lower,
        upper,
        gap_times,
        trace,
        trials,
        backups: s.backups,
        beliefs: s.nodes.len(),
        upper_points: s.upper.points.len() - s.upper.dead,
        init_seconds,
        seconds: start.elapsed().as_secs_f64(),
        stop,
    })
}

/// The fast informed bound Q(s, a) = R(s, a) + γ Σ_o max_a' Σ_s' T(s'|s,a)·O(o|s',a)·Q(s', a'), iterated in
/// place from max R/(1 − γ) until no entry moves by more than `tol` (or time runs out: every iterate is an
/// upper bound); returns the corner values max_a Q(s, a).
fn fib(m: &Sparse, tol: f64, out_of_time: &dyn Fn() -> bool) -> Vec<f64> {
    let (ns, na, no) = (m.n_states(), m.n_actions(), m.n_observations());
    let rmax =
        m.r.iter()
            .flatten()
            .fold(f64::NEG_INFINITY, |x, y| x.max(*y));
    let gamma = m.discount;
    let mut q = vec![vec![rmax / (1.0 - gamma); ns]; na];
    // Per (o, a'): Σ_s' T·O·Q(s', a'); `touched` lists the observations with an entry.
    let mut acc = vec![0.0; no * na];
    let mut touched: Vec<usize> = Vec::with_capacity(no);
    let mut seen = vec![false; no];
    for sweep in 0.. {
        let mut change = 0.0f64;
        for a in 0..na {
            for s in 0..ns {
                let (tc, tp) = m.t[a].row(s);
                for (&sp, &pt) in tc.iter().zip(tp) {
                    let (oc, op) = m.o[a].row(sp as usize);
                    for (&o, &po) in oc.iter().zip(op) {
                        let o = o as usize;
                        if !seen[o] {
                            seen[o] = true;
                            touched.push(o);
                        }
                        let w = pt * po;
                        for (ap, qa) in q.iter().enumerate() {
                            acc[o * na + ap] += w * qa[sp as usize];
                        }
                    }
                }
                let mut v = m.r[a][s];
                for &o in &touched {
                    let row = &mut acc[o * na..(o + 1) * na];
                    v += gamma * row.iter().fold(f64::NEG_INFINITY, |x, y| x.max(*y));
                    row.iter_mut().for_each(|x| *x = 0.0);
                    seen[o] = false;
                }
                touched.clear();
                if v < q[a][s] {
                    change = change.max(q[a][s] - v);
                    q[a][s] = v;
                }
            }
        }
        if change <= tol || (sweep % 8 == 7 && out_of_time()) {
            break;
        }
    }
    (0..ns)
        .map(|s| (0..na).map(|a| q[a][s]).fold(f64::NEG_INFINITY, f64::max))
        .collect()
}

/// The blind policies' values α_a = R_a + γ T_a α_a, iterated up from min R_a/(1 − γ) until no entry moves by more
/// than `tol` (every iterate is a lower bound on the policy's value).
fn blind(m: &Sparse, tol: f64, out_of_time: &dyn Fn() -> bool) -> (Vec<Vec<f64>>, Vec<usize>) {
    let (ns, na) = (m.n_states(), m.n_actions());
    let gamma = m.discount;
    let vectors = (0..na)
        .map(|a| {
            let rmin = m.r[a].iter().fold(f64::INFINITY, |x, y| x.min(*y));
            let mut v = vec![rmin / (1.0 - gamma); ns];
            for sweep in 0.. {
                let mut change = 0.0f64;
                for s in 0..ns {
                    let (tc, tp) = m.t[a].row(s);
                    let x = m.r[a][s]
                        + gamma
                            * tc.iter()
                                .zip(tp)
                                .map(|(c, p)| p * v[*c as usize])
                                .sum::<f64>();
                    if x > v[s] {
                        change = change.max(x - v[s]);
                        v[s] = x;
                    }
                }
                if change <= tol || (sweep % 8 == 7 && out_of_time()) {
                    break;
                }
            }
            v
        })
        .collect();
    (vectors, (0..na).collect())
}

impl Solver<'_> {
    fn gap(&self, n: usize) -> f64 {
        self.nodes[n].upper - self.nodes[n].lower
    }

    /// The node of belief `b`, created (with its bounds) if it is new.
    fn node(&mut self, b: Belief) -> usize {
        let key = b.key();
        if let Some(ids) = self.index.get(&key)
            && let Some(&i) = ids.iter().find(|&&i| self.nodes[i].b.same(&b))
        {
            return i;
        }
        let i = self.nodes.len();
        self.nodes.push(Node {
            b,
            lower: f64::NEG_INFINITY,
            best: self.fallback,
            lower_seen: 0,
            upper: f64::INFINITY,
            upper_seen: 0,
            point: None,
            branches: None,
        });
        self.index.entry(key).or_default().push(i);
        self.refresh(i);
        i
    }

    /// Brings a node's bounds up to date with the vectors and upper points added since it last looked.
    fn refresh(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        for id in node.lower_seen..self.alphas.len() {
            if self.live[id] {
                let v = node.b.dot(&self.alphas[id]);
                if v > node.lower {
                    node.lower = v;
                    node.best = id;
                }
            }
        }
        node.lower_seen = self.alphas.len();
        let (seen, total) = (node.upper_seen, self.upper.points.len());
        if seen < total || node.upper == f64::INFINITY {
            let node = &self.nodes[n];
            let base = node.b.dot(&self.upper.corner);
            let mut best = node.upper.min(base);
            for (i, &p) in node.b.idx.iter().zip(&node.b.p) {
                self.dense[*i as usize] = p;
            }
            let support = node.b.idx.len();
            for pt in &self.upper.points[seen..] {
                let pb = &self.nodes[pt.node].b;
                // φ = min over the point's support of b(s)/b_i(s): 0 when b misses one of its states.
                if !pt.live || pb.idx.len() > support {
                    continue;
                }
                let mut phi = f64::INFINITY;
                for (i, q) in pb.idx.iter().zip(&pb.p) {
                    phi = phi.min(self.dense[*i as usize] / q);
                    if phi == 0.0 {
                        break;
                    }
                }
                best = best.min(base + phi * (pt.value - pt.base));
            }
            for i in &node.b.idx {
                self.dense[*i as usize] = 0.0;
            }
            let node = &mut self.nodes[n];
            node.upper = best;
            node.upper_seen = total;
        }
        // Bounds from different sources can cross by rounding only.
        let node = &mut self.nodes[n];
        if node.lower > node.upper {
            node.upper = node.lower;
        }
    }

    /// Adds node n's belief with value v to the upper set, replacing its older point; drops the replaced points
    /// when they outnumber the others.
    fn add_point(&mut self, n: usize, value: f64) {
        let up = &mut self.upper;
        if let Some(old) = self.nodes[n].point {
            up.points[old].live = false;
            up.dead += 1;
        }
        let base = self.nodes[n].b.dot(&up.corner);
        self.nodes[n].point = Some(up.points.len());
        up.points.push(Point {
            node: n,
            value,
            base,
            live: true,
        });
        if up.dead > 1000 && 2 * up.dead > up.points.len() {
            // new_index[i] = the live points before i; a node that had seen i points has seen new_index[i].
            let mut new_index = Vec::with_capacity(up.points.len() + 1);
            let mut k = 0;
            for p in &up.points {
                new_index.push(k);
                k += p.live as usize;
            }
            new_index.push(k);
            up.points.retain(|p| p.live);
            up.dead = 0;
            for node in &mut self.nodes {
                node.upper_seen = new_index[node.upper_seen];
                node.point = node.point.map(|i| new_index[i]);
            }
        }
    }

    /// Creates a node's successors for every action and observation.
    fn expand(&mut self, n: usize) {
        if self.nodes[n].branches.is_some() {
            return;
        }
        let m = self.m;
        let (na, no) = (m.n_actions(), m.n_observations());
        let mut branches = Vec::with_capacity(na);
        let mut pred: Vec<(u32, f64)> = vec![];
        let mut per_obs: Vec<Vec<(u32, f64)>> = vec![vec![]; no];
        for a in 0..na {
            // The predicted state distribution Σ_s b(s) T(·|s, a), sparse, through the dense scratch.
            let b = &self.nodes[n].b;
            let reward: f64 = b
                .idx
                .iter()
                .zip(&b.p)
                .map(|(s, p)| p * m.r[a][*s as usize])
                .sum();
            let mut support: Vec<u32> = vec![];
            for (s, p) in b.idx.iter().zip(&b.p) {
                let (tc, tp) = m.t[a].row(*s as usize);
                for (c, q) in tc.iter().zip(tp) {
                    if self.dense[*c as usize] == 0.0 {
                        support.push(*c);
                    }
                    self.dense[*c as usize] += p * q;
                }
            }
            support.sort_unstable();
            pred.clear();
            for c in &support {
                let x = std::mem::take(&mut self.dense[*c as usize]);
                if x > 0.0 {
                    pred.push((*c, x));
                }
            }
            for &(sp, x) in &pred {
                let (oc, op) = m.o[a].row(sp as usize);
                for (o, q) in oc.iter().zip(op) {
                    per_obs[*o as usize].push((sp, x * q));
                }
            }
            let mut kids = vec![];
            for (o, entries) in per_obs.iter_mut().enumerate() {
                if entries.is_empty() {
                    continue;
                }
                let z: f64 = entries.iter().map(|e| e.1).sum();
                if z > 0.0 {
                    let belief = Belief {
                        idx: entries.iter().map(|e| e.0).collect(),
                        p: entries.iter().map(|e| e.1 / z).collect(),
                    };
                    let k = self.node(belief);
                    kids.push((o as u32, z, k));
                }
                entries.clear();
            }
            branches.push(Branch { reward, kids });
        }
        self.nodes[n].branches = Some(branches);
    }

    /// Q-values of every action at an expanded node from its successors' bounds: (lower, upper) per action.
    fn q_values(&mut self, n: usize) -> Vec<(f64, f64)> {
        let branches = self.nodes[n].branches.take().expect("expanded");
        let mut q = Vec::with_capacity(branches.len());
        for br in &branches {
            let (mut lo, mut up) = (br.reward, br.reward);
            for &(_, p, k) in &br.kids {
                self.refresh(k);
                lo += self.gamma * p * self.nodes[k].lower;
                up += self.gamma * p * self.nodes[k].upper;
            }
            q.push((lo, up));
        }
        self.nodes[n].branches = Some(branches);
        q
    }

    /// One trial from the root (see the module docs).
    fn trial(&mut self, root: usize, out_of_time: &dyn Fn() -> bool) {
        self.refresh(root);
        let eps = 0.5 * self.gap(root);
        let mut path = vec![root];
        // The value this belief's upper bound must reach for the root's to reach lower + ε (SARSOP's target; its
        // lower-bound target never stops a trial when the lower bound stands for the predicted value).
        let mut up_target = self.nodes[root].lower + eps;
        let mut scale = 1.0; // γ^−t
        loop {
            let n = *path.last().expect("non-empty");
            self.refresh(n);
            let node = &self.nodes[n];
            if node.upper - node.lower <= eps * scale
                || (path.len() > 1 && node.upper <= up_target.max(node.lower + eps * scale))
            {
                break;
            }
            if path.len() % 64 == 0 && out_of_time() {
                break;
            }
            self.expand(n);
            let q = self.q_values(n);
            let qlo = q.iter().map(|x| x.0).fold(f64::NEG_INFINITY, f64::max);
            // The action with the largest upper Q (the first among exact ties).
            let a = (0..q.len()).fold(0, |b, a| if q[a].1 > q[b].1 { a } else { b });
            let up_here = up_target.max(qlo + eps * scale);
            let next_scale = scale / self.gamma;
            let br = &self.nodes[n].branches.as_ref().expect("expanded")[a];
            let mut pick: Option<(f64, usize)> = None;
            for (j, &(_, p, k)) in br.kids.iter().enumerate() {
                let kn = &self.nodes[k];
                let excess = p * (kn.upper - kn.lower - eps * next_scale);
                if excess > 0.0 && pick.is_none_or(|(e, _)| excess > e) {
                    pick = Some((excess, j));
                }
            }
            let Some((_, j)) = pick else {
                break;
            };
            let (reward, kids) = (br.reward, br.kids.clone());
            let (_, pj, kj) = kids[j];
            let mut rest_up = reward;
            for (i, &(_, p, k)) in kids.iter().enumerate() {
                if i != j {
                    rest_up += self.gamma * p * self.nodes[k].upper;
                }
            }
            up_target = (up_here - rest_up) / (self.gamma * pj);
            scale = next_scale;
            path.push(kj);
            if path.len() > 100_000 {
                break;
            }
        }
        for &n in path.iter().rev() {
            self.backup(n);
        }
    }

    /// A point-based backup at a node: a new alpha vector where it raises the lower bound, a new upper point
    /// where it lowers the upper bound.
    fn backup(&mut self, n: usize) {
        self.expand(n);
        self.backups += 1;
        let q = self.q_values(n);
        let (ns, gamma) = (self.m.n_states(), self.gamma);
        let a = (0..q.len()).fold(0, |b, a| if q[a].0 > q[b].0 { a } else { b });
        let qup = q.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
        if q[a].0 > self.nodes[n].lower + 1e-12 * (1.0 + q[a].0.abs()) {
            // α(s) = R(s, a) + γ Σ_s' T(s'|s,a) Σ_o O(o|s',a) α_o(s'), α_o the best vector at b's successor
            // under o (a fallback for observations b cannot produce).
            let m = self.m;
            let no = m.n_observations();
            let mut chosen = vec![self.fallback; no];
            for &(o, _, k) in &self.nodes[n].branches.as_ref().expect("expanded")[a].kids {
                chosen[o as usize] = self.nodes[k].best;
            }
            let alpha: Vec<f64> = (0..ns)
                .map(|s| {
                    let (tc, tp) = m.t[a].row(s);
                    let mut v = 0.0;
                    for (sp, pt) in tc.iter().zip(tp) {
                        let (oc, op) = m.o[a].row(*sp as usize);
                        for (o, po) in oc.iter().zip(op) {
                            v += pt * po * self.alphas[chosen[*o as usize]][*sp as usize];
                        }
                    }
                    m.r[a][s] + gamma * v
                })
                .collect();
            self.alphas.push(alpha);
            self.actions.push(a);
            self.live.push(true);
            self.live_count += 1;
        }
        if qup < self.nodes[n].upper - 1e-12 * (1.0 + qup.abs()) {
            self.add_point(n, qup);
        }
        self.refresh(n);
    }

    /// Drops every vector that is best at no belief of the graph (the nodes' cached best vectors are recomputed
    /// over all live vectors first).
    fn prune(&mut self) {
        let mut used = vec![false; self.alphas.len()];
        for n in 0..self.nodes.len() {
            let node = &mut self.nodes[n];
            let (mut v, mut best) = (f64::NEG_INFINITY, node.best);
            for id in 0..self.alphas.len() {
                if self.live[id] {
                    let x = node.b.dot(&self.alphas[id]);
                    if x > v {
                        v = x;
                        best = id;
                    }
                }
            }
            node.lower = node.lower.max(v);
            node.best = best;
            node.lower_seen = self.alphas.len();
            used[best] = true;
        }
        used[self.fallback] = true;
        for ((live, alpha), used) in self.live.iter_mut().zip(&mut self.alphas).zip(used) {
            if *live && !used {
                *live = false;
                *alpha = Vec::new();
                self.live_count -= 1;
            }
        }
        self.prune_at = 2 * self.live_count.max(16);
    }
}
