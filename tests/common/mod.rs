//! Helpers shared by the test files that include this module (`mod common;`).

use std::path::{Path, PathBuf};

/// Calibrates the coding agent's scenario into `dir/card` (its card, exports and the gate's card.json) and
/// returns that directory.
#[allow(dead_code)] // not every test file that includes this module calibrates the card
pub fn coding_card(dir: &Path) -> PathBuf {
    let out = dir.join("card");
    assert_cmd::Command::new(assert_cmd::cargo::cargo_bin("cirl"))
        .args([
            "calibrate",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/experiments/scenarios/coding-agent.toml"
            ),
            "--mc",
            "0",
            "--no-plots",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    out
}

/// Every `.toml` config under the repository's experiments/, sorted.
#[allow(dead_code)] // not every test file that includes this module walks the configs
pub fn experiment_configs() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p);
            }
        }
    }
    let mut v = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments"),
        &mut v,
    );
    v.sort();
    v
}
