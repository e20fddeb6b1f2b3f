//! `cargo xtask stress`: eddy under load and faults, with nothing lost and nothing leaked.
//!
//! Builds tests/stress (package `eddy-stress`) in release mode and runs it; each scenario
//! runs in a child process of its own and the run ends with one table. Installs Debian's
//! `wrk` (for the hyper scenario) and `valgrind` (for the leak check) when they are missing;
//! a scenario whose tool could not be installed is reported as skipped, with the reason.

use std::process::Command;

use crate::step::{self, Failure, Result, cargo};

/// Runs the stress suite with `args` (`--quick`, `--only NAME`, `--seconds N`).
pub(crate) fn run(args: &[String]) -> Result {
    let mut forwarded: Vec<String> = Vec::new();
    let mut only: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => forwarded.push(a.clone()),
            "--only" | "--seconds" => {
                let v = it
                    .next()
                    .ok_or_else(|| Failure::new("stress", format!("{a} needs a value")))?;
                if a == "--only" {
                    only = Some(v.clone());
                }
                forwarded.extend([a.clone(), v.clone()]);
            }
            other => {
                return Err(Failure::new(
                    "stress",
                    format!("unknown argument `{other}` (use --quick, --only NAME, --seconds N)"),
                ));
            }
        }
    }
    step::run(
        "stress: build",
        cargo().args(["build", "--release", "-p", "eddy-stress"]),
    )?;
    // The scenarios `--only` selects by prefix, as the binary does.
    let chosen = |scenario: &str| {
        only.as_ref()
            .is_none_or(|o| scenario.starts_with(o.as_str()))
    };
    if chosen("wrk") {
        step::ensure_package("stress: wrk", "wrk", "-v", "wrk");
    }
    if chosen("valgrind") {
        step::ensure_package("stress: valgrind", "valgrind", "--version", "valgrind");
    }
    let bin = step::target_dir()?.join("release").join("eddy-stress");
    let quick = forwarded.iter().any(|a| a == "--quick");
    step::run(
        if quick { "stress --quick" } else { "stress" },
        Command::new(bin).args(&forwarded).current_dir(step::root()),
    )
}
