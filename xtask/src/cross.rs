//! `cargo xtask cross`: eddy on targets other than the machine's own.
//!
//! The kqueue backend cannot run on the Linux CI machines, so it is type-checked and linted
//! for each kqueue target. With `--run`, the core crates' test suites also run on a 32-bit
//! target (i686, natively, with Debian's 32-bit libraries) and a weakly ordered one
//! (aarch64, under qemu-user): where state-word packing, 64-bit atomics, tick arithmetic
//! and memory orderings break. What has run where is in docs/testing.md, "Targets".

use crate::step::{self, Failure, Result, cargo};

/// The kqueue targets the selector must build for. Only the standard library for each is
/// needed (clippy never links), so `rustup target add` is enough.
const KQUEUE_TARGETS: &[&str] = &[
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-unknown-freebsd",
    "x86_64-unknown-netbsd",
];

/// Crates that contain platform code and so are checked on every target.
const CRATES: &[&str] = &["eddy-selector", "eddy-net", "eddy"];

/// A Linux target whose tests `--run` executes: how to link for it and how to run it.
struct RunTarget {
    triple: &'static str,
    /// `CARGO_TARGET_<TRIPLE>_LINKER`, where the host's `cc` cannot link for it.
    linker: Option<&'static str>,
    /// The emulator the test binaries (and the children they re-run) go through.
    runner: Option<&'static str>,
    /// Debian packages the target needs: its C library, a linker, the emulator.
    packages: &'static [&'static str],
}

const RUN_TARGETS: &[RunTarget] = &[
    RunTarget {
        triple: "i686-unknown-linux-gnu",
        linker: None,
        runner: None,
        // Not gcc-multilib: it conflicts with the aarch64 cross compiler's packages.
        packages: &["lib32gcc-12-dev", "libc6-dev-i386"],
    },
    RunTarget {
        triple: "aarch64-unknown-linux-gnu",
        linker: Some("aarch64-linux-gnu-gcc-12"),
        runner: Some("qemu-aarch64 -L /usr/aarch64-linux-gnu"),
        packages: &[
            "gcc-12-aarch64-linux-gnu",
            "libc6-dev-arm64-cross",
            "qemu-user",
        ],
    },
];

/// The crates whose whole test suites run on every `RUN_TARGETS` entry: the runtime
/// itself. The workspace's peer tests, bench and stress binaries are not, as they build
/// tokio and smol and measure the host.
/// How long one test binary may run on a `RUN_TARGETS` entry before it is killed. The
/// slowest, eddy's integration suite under qemu, takes about 75 s on the 2-core CI
/// machine; a binary still running after this is hung, and killing it fails the step in
/// minutes, with libtest's "has been running for over 60 seconds" lines naming the test,
/// instead of running into CI's own limit with nothing said.
const BINARY_LIMIT_S: u32 = 900;

const CORE_CRATES: &[&str] = &[
    "eddy-selector",
    "eddy-wake",
    "eddy-timer",
    "eddy-executor",
    "eddy-net",
    "eddy",
];

pub(crate) fn run(args: &[String]) -> Result {
    let run_tests = match args {
        [] => false,
        [flag] if flag == "--run" => true,
        _ => {
            return Err(Failure::new(
                "cross",
                format!("unknown arguments {args:?}; usage: cargo xtask cross [--run]"),
            ));
        }
    };
    let mut targets: Vec<&str> = KQUEUE_TARGETS.to_vec();
    if run_tests {
        targets.extend(RUN_TARGETS.iter().map(|t| t.triple));
    }
    ensure_targets(&targets)?;
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
    if run_tests {
        for target in RUN_TARGETS {
            run_suite(target)?;
        }
    }
    Ok(())
}

/// Builds and runs the core crates' tests (unit and integration, not doc tests, which
/// rustdoc runs on the host) for `target`.
fn run_suite(target: &RunTarget) -> Result {
    let name = format!("cross test {}", target.triple);
    step::apt_install(&name, target.packages)?;
    let var = |what: &str| {
        format!(
            "CARGO_TARGET_{}_{what}",
            target.triple.to_uppercase().replace('-', "_")
        )
    };
    let mut cmd = cargo();
    // Every binary runs even after one fails, so a run shows all of a target's failures.
    cmd.args([
        "test",
        "--no-fail-fast",
        "--target",
        target.triple,
        "--lib",
        "--tests",
    ]);
    for krate in CORE_CRATES {
        cmd.args(["-p", krate]);
    }
    if let Some(linker) = target.linker {
        cmd.env(var("LINKER"), linker);
    }
    // Cargo runs each test binary through the runner: `timeout` (which kills the binary's
    // whole process group, so its children too), then the emulator if the target needs
    // one. The tests that re-run their own binary in a child read `EDDY_TEST_RUNNER` to go
    // through the same emulator; not through `timeout`, which would stand between a test
    // and the pid it signals.
    let limit = format!("timeout --kill-after=10 {BINARY_LIMIT_S}");
    match target.runner {
        Some(emulator) => {
            cmd.env(var("RUNNER"), format!("{limit} {emulator}"))
                .env("EDDY_TEST_RUNNER", emulator);
        }
        None => {
            cmd.env(var("RUNNER"), limit);
        }
    }
    step::run(&name, &mut cmd).inspect_err(|_| {
        eprintln!(
            "{name}: where a test binary above was killed by signal 9 or exited with 124, \
             it ran past {BINARY_LIMIT_S} s and was stopped as hung; the test it named as \
             \"running for over 60 seconds\" is the one to look at"
        );
    })
}

/// Installs the missing targets for the pinned toolchain, idempotently.
fn ensure_targets(targets: &[&str]) -> Result {
    let name = "cross: rustup targets";
    let installed = step::output(
        name,
        std::process::Command::new("rustup")
            .args(["target", "list", "--installed"])
            .current_dir(step::root()),
    )?;
    let missing: Vec<&str> = targets
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
            format!("{}; the cross-checks need these targets", f.why),
        )
    })
}
