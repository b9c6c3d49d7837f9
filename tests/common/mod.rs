//! Helpers shared by the test files that include this module (`mod common;`).

use std::path::{Path, PathBuf};

/// Calibrates the coding agent's scenario into `dir/card` (its card, exports and the gate's card.json) and
/// returns that directory.
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
