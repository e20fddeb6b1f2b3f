//! `cargo xtask miri`: every crate's unsafe code that Miri can run, under Miri.
//!
//! Miri needs the nightly toolchain's `miri` component; this job installs it when missing.
//! Miri interprets the program, so it cannot make system calls it does not emulate: it has
//! epoll, eventfd, pipes, socketpairs and threads, but no TCP or UDP sockets, no `open`
//! while isolated, and no signal handlers. Tests that need those carry
//! `#[cfg_attr(miri, ignore = "why")]`; docs/testing.md lists what runs and what cannot.
//! Each suite names its test target and filters, so one `cargo miri test` per suite keeps
//! the step to a minute or two.

use crate::step::Result;

/// One `cargo miri test` run.
struct Suite {
    package: &'static str,
    /// `--lib` for unit tests, `--test it` for a crate's public-API tests.
    target: &'static [&'static str],
    /// Test-name filters (any match runs).
    filters: &'static [&'static str],
}

const SUITES: &[Suite] = &[
    // Raw task, state word, waker vtable, JoinHandle and the owned-task list; the
    // work-stealing ring buffer; the multi-thread workers' context pointer, LIFO slot and
    // shutdown; the current-thread scheduler's thread-local context.
    Suite {
        package: "eddy-executor",
        target: &["--lib"],
        filters: &["task::", "multi_thread::", "current_thread::"],
    },
    // The waker slot's unsafe cell (register, take, wake); the wait slot's pointers and
    // the thread-local mark of the slot being recorded into.
    Suite {
        package: "eddy-wake",
        target: &["--lib"],
        filters: &["atomic_waker", "wait::"],
    },
    // `Timeout`'s pin projection, through the public futures and their bad inputs.
    Suite {
        package: "eddy-timer",
        target: &["--test", "it"],
        filters: &["futures::", "bad_input::"],
    },
    // The epoll backend's syscalls and event buffers, over Miri's epoll, eventfd, pipes and
    // socketpairs (TCP, UDP, files and signals are ignored under Miri).
    Suite {
        package: "eddy-selector",
        target: &["--test", "it"],
        filters: &[],
    },
    // The reactor and `Async<T>` over pipes: the selector's buffers as the reactor uses
    // them, `set_nonblocking`'s fcntl, and bad fds.
    Suite {
        package: "eddy-net",
        target: &["--test", "it"],
        filters: &["async_fd::", "reactor::", "bad_input::"],
    },
    // join_all / race: children pinned inside a boxed slice; `timed`'s pin projection.
    Suite {
        package: "eddy",
        target: &["--lib"],
        filters: &["future::", "time::"],
    },
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
    for suite in SUITES {
        crate::step::run(
            &format!("miri {} {}", suite.package, suite.target.join(" ")),
            nightly_cargo()
                .current_dir(crate::step::root())
                .args(["miri", "test", "-p", suite.package])
                .args(suite.target)
                .arg("--")
                .args(suite.filters),
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
