//! `cargo xtask cross`: the kqueue backend cannot run on the Linux CI machines, so it is
//! type-checked and linted for each kqueue target instead.

use crate::step::{self, Failure, Result, cargo};

/// The kqueue targets the selector must build for. Only the standard library for each is
/// needed (clippy never links), so `rustup target add` is enough.
const KQUEUE_TARGETS: &[&str] = &[
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-unknown-freebsd",
];

/// Crates that contain platform code and so are checked on every target.
const CRATES: &[&str] = &["eddy-selector", "eddy-net", "eddy"];

pub(crate) fn run() -> Result {
    ensure_targets()?;
    for target in KQUEUE_TARGETS {
        for krate in CRATES {
            step::run(
                &format!("cross {krate} {target}"),
                cargo().args([
                    "clippy",
                    "-p",
                    krate,
                    "--all-targets",
                    "--target",
                    target,
                    "--",
                    "-D",
                    "warnings",
                ]),
            )?;
        }
    }
    Ok(())
}

/// Installs the missing targets for the pinned toolchain, idempotently.
fn ensure_targets() -> Result {
    let name = "cross: rustup targets";
    let installed = step::output(
        name,
        std::process::Command::new("rustup")
            .args(["target", "list", "--installed"])
            .current_dir(step::root()),
    )?;
    let missing: Vec<&str> = KQUEUE_TARGETS
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut cmd = std::process::Command::new("rustup");
    cmd.current_dir(step::root())
        .args(["target", "add"])
        .args(&missing);
    step::run(name, &mut cmd).map_err(|f| {
        Failure::new(
            name,
            format!("{}; the kqueue cross-check needs these targets", f.why),
        )
    })
}
