//! `cargo xtask`: eddy's project automation, std only.
//!
//! One job per module; `main` only dispatches. Every step prints the command it runs, and
//! the first failing step ends the job with its name, so a CI log says what broke.

mod bench;
mod ci;
mod cross;
mod examples;
mod loom;
mod miri;
mod step;
mod stress;
mod tidy;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <job>

jobs:
  bench   eddy beside tokio, smol and the raw-epoll baseline, in release mode; a full run
          rewrites docs/benchmarks.md [--quick] [--only NAME] [--runs N]
  ci      everything CI checks: fmt, clippy, tests, doc tests, docs, tidy, examples, kqueue
          cross-check, i686 and aarch64 test runs, loom models, Miri subset, bench --quick,
          stress --quick
  loom    run every loom model of the workspace (cfg eddy_loom)
  miri    run the unsafe task and queue tests under Miri (installs nightly miri if missing)
  cross   clippy the kqueue backend for macOS, FreeBSD and NetBSD targets; with --run also
          run the core crates' tests on i686 and on aarch64 under qemu-user (installs the
          targets and Debian's cross packages) [--run]
  examples  run every example of the eddy facade, and the echo server/client pair
  stress  load and fault scenarios in release mode, each in its own process; ends with a
          table of operations, errors, lost, leaked and peak RSS [--quick] [--only NAME]
          [--seconds N]
  tidy    repository conventions: loom shims, SAFETY comments, crate layers, the loom
          audit table of docs/testing.md against the code
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let job = args.first().map(String::as_str).unwrap_or("help");
    let result = match job {
        "bench" => bench::run(&args[1..]),
        "ci" => ci::run(),
        "loom" => loom::run(),
        "miri" => miri::run(),
        "cross" => cross::run(&args[1..]),
        "examples" => examples::run(),
        "stress" => stress::run(&args[1..]),
        "tidy" => tidy::run(),
        "help" | "-h" | "--help" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprint!("xtask: unknown job `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!(
                "\nxtask {job}: FAILED at step `{}`: {}",
                failure.step, failure.why
            );
            ExitCode::FAILURE
        }
    }
}
