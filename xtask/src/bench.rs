//! `cargo xtask bench`: eddy beside tokio, smol and the raw-epoll baseline, in one run.
//!
//! Builds tests/bench in release mode and runs it. A full run (no `--quick`, no `--only`)
//! also rewrites docs/benchmarks.md and docs/benchmarks-ratio.svg, with the syscalls per
//! echo round trip counted by `strace -c -f`, installed from Debian's packages if missing.
//! The server workloads need `wrk` and `redis-benchmark`, installed the same way (Debian's
//! `wrk` and `redis-tools`) when a chosen row needs them; rows whose client could not be
//! installed are skipped by the bench with the reason.

use std::process::Command;

use crate::step::{self, Failure, Result, cargo};

/// Runs the bench with `args` (`--quick`, `--only NAME`, `--runs N`).
pub(crate) fn run(args: &[String]) -> Result {
    let mut forwarded: Vec<String> = Vec::new();
    let mut it = args.iter();
    let (mut quick, mut only) = (false, None::<String>);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--only" | "--runs" => {
                let v = it
                    .next()
                    .ok_or_else(|| Failure::new("bench", format!("{a} needs a value")))?;
                if a == "--only" {
                    only = Some(v.clone());
                }
                forwarded.push(a.clone());
                forwarded.push(v.clone());
                continue;
            }
            other => {
                return Err(Failure::new(
                    "bench",
                    format!("unknown argument `{other}` (use --quick, --only NAME, --runs N)"),
                ));
            }
        }
        forwarded.push(a.clone());
    }
    step::run(
        "bench: build",
        cargo().args(["build", "--release", "-p", "eddy-bench"]),
    )?;
    // The server rows' names start with these; `--only` picks rows by prefix.
    let chosen = |rows: &str| {
        only.as_deref()
            .is_none_or(|o| rows.starts_with(o) || o.starts_with(rows))
    };
    if chosen("http_") {
        step::ensure_package("bench: wrk", "wrk", "-v", "wrk");
    }
    if chosen("resp_") {
        step::ensure_package(
            "bench: redis-benchmark",
            "redis-benchmark",
            "--version",
            "redis-tools",
        );
    }
    let bin = step::target_dir()?.join("release").join("eddy-bench");
    let mut cmd = Command::new(bin);
    cmd.args(&forwarded).current_dir(step::root());
    // Only a complete run may stand for the project in docs/benchmarks.md.
    if !quick && only.is_none() {
        cmd.arg("--docs").arg(step::root());
        if !ensure_strace() {
            cmd.arg("--no-strace");
        }
    }
    step::run(if quick { "bench --quick" } else { "bench" }, &mut cmd)
}

/// Whether `strace` can be run, installing it with apt-get when it is missing.
fn ensure_strace() -> bool {
    if step::ensure_package("bench: strace", "strace", "-V", "strace") {
        return true;
    }
    println!(
        "<== [bench: strace] the docs will say syscalls were not counted (install it with \
         `apt-get install strace` and rerun)"
    );
    false
}
