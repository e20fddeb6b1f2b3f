//! `cargo xtask miri`: the unsafe task and queue code under Miri.
//!
//! Miri needs the nightly toolchain's `miri` component; this job installs it when missing.
//! Crates join the list below once they have unsafe code worth checking; each entry names
//! the test filter that keeps the run within a few minutes.

use crate::step::Result;

/// `(package, test filter)` pairs run under Miri, each chosen to finish in a minute or two.
const SUITES: &[(&str, &str)] = &[
    // Raw task, state word, waker vtable, JoinHandle and the owned-task list.
    ("eddy-executor", "task::"),
    // The work-stealing ring buffer (push, pop, steal, overflow).
    ("eddy-executor", "multi_thread::queue::"),
    // The waker slot's unsafe cell (register, take, wake).
    ("eddy-timer", "atomic_waker"),
    // join_all / race: children pinned in place inside a boxed slice.
    ("eddy", "future::"),
    // `timed`'s pin projection.
    ("eddy", "time::"),
];

/// Variables `cargo xtask` inherits from the pinned toolchain's cargo; left in place they
/// would make `cargo +nightly miri` build with the stable compiler.
const TOOLCHAIN_VARS: &[&str] = &[
    "CARGO",
    "RUSTC",
    "RUSTDOC",
    "RUSTC_WRAPPER",
    "RUSTUP_TOOLCHAIN",
    "CARGO_MANIFEST_DIR",
    "CARGO_PKG_NAME",
    "RUSTFLAGS",
];

/// A `cargo +nightly ...` command with the stable toolchain's variables cleared.
fn nightly_cargo() -> std::process::Command {
    let mut cmd = std::process::Command::new("cargo");
    for var in TOOLCHAIN_VARS {
        cmd.env_remove(var);
    }
    cmd.arg("+nightly");
    cmd
}

pub(crate) fn run() -> Result {
    if SUITES.is_empty() {
        println!("\n==> [miri] no suites registered yet");
        return Ok(());
    }
    ensure_miri()?;
    for (krate, filter) in SUITES {
        crate::step::run(
            &format!("miri {krate}"),
            nightly_cargo()
                .current_dir(crate::step::root())
                .args(["miri", "test", "-p", krate, "--lib", "--", filter]),
        )?;
    }
    Ok(())
}

/// Installs the nightly toolchain's `miri` and `rust-src` components if they are missing.
fn ensure_miri() -> Result {
    let name = "miri: install";
    let have = nightly_cargo()
        .args(["miri", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if have {
        return Ok(());
    }
    crate::step::run(
        name,
        std::process::Command::new("rustup")
            .env_remove("RUSTUP_TOOLCHAIN")
            .args([
                "toolchain",
                "install",
                "nightly",
                "--profile",
                "minimal",
                "--component",
                "miri",
                "--component",
                "rust-src",
            ]),
    )?;
    crate::step::run("miri: setup", nightly_cargo().args(["miri", "setup"]))
}
