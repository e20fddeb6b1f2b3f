//! `cargo xtask loom`: every loom model in the workspace.
//!
//! Models live next to the code they check, in `src/<module>/loom_tests.rs` modules compiled
//! only under `cfg(eddy_loom)`; this job builds the workspace with that cfg in its own target
//! directory (so the normal build cache survives) and runs the tests whose path contains
//! `loom_tests`. Every model finishes in well under a second at three preemptions, so CI
//! runs them at `LOOM_MAX_PREEMPTIONS=3` unless the variable says otherwise.

use crate::step::{self, Result, cargo};

pub(crate) fn run() -> Result {
    let preemptions = std::env::var("LOOM_MAX_PREEMPTIONS").unwrap_or_else(|_| "3".to_owned());
    // Its own directory: the `eddy_loom` cfg would otherwise rebuild everything twice.
    let target_dir = step::target_dir()?.join("loom");
    step::run(
        "loom",
        cargo()
            .args([
                "test",
                "--workspace",
                "--exclude",
                "xtask",
                "--exclude",
                "eddy-tests",
                "--lib",
                "--release",
            ])
            .arg("--target-dir")
            .arg(&target_dir)
            .args(["--", "loom_tests"])
            .env("RUSTFLAGS", "--cfg eddy_loom")
            .env("LOOM_MAX_PREEMPTIONS", preemptions),
    )
}
