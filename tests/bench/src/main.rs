//! eddy-bench: eddy side by side with tokio, smol and a raw-epoll baseline, in one run.
//!
//! Every workload runs for each runtime in turn, run by run (eddy, tokio, smol, baseline,
//! eddy, ...), so drift on a shared machine spreads over all of them alike. Progress goes to
//! stderr; the table of medians, spreads and ratios goes to stdout. `cargo xtask bench`
//! builds this in release mode and runs it; `../shared/BENCHMARKS.md` says what each
//! workload is and which targets it has.
//!
//! ```text
//! eddy-bench [--quick] [--only NAME] [--runs N] [--docs ROOT] [--no-strace]
//! ```

mod baseline;
mod memory;
mod net;
mod primitives;
mod report;
mod rt;
mod stats;
mod tasks;
mod timers;
mod workloads;

use std::process::ExitCode;

/// What the command line asked for.
pub(crate) struct Options {
    pub(crate) quick: bool,
    pub(crate) only: Option<String>,
    pub(crate) runs: usize,
    /// The workspace root whose docs/benchmarks.md and SVG this run rewrites.
    pub(crate) docs: Option<std::path::PathBuf>,
    pub(crate) strace: bool,
}

const USAGE: &str = "\
usage: eddy-bench [--quick] [--only NAME] [--runs N] [--docs ROOT] [--no-strace] [--list]

  --quick      small sizes, 3 runs: the whole bench in about a minute
  --only NAME  run the workloads whose name starts with NAME (spawn_local, tcp_echo, ...)
  --runs N     runs per runtime (default 5, 3 with --quick)
  --docs ROOT  rewrite ROOT/docs/benchmarks.md and ROOT/docs/benchmarks-ratio.svg
  --no-strace  leave out the syscalls-per-round-trip count in the docs
  --list       print the workload names and exit
";

fn parse(args: &[String]) -> Result<(Options, bool), String> {
    let mut o = Options {
        quick: false,
        only: None,
        runs: 0,
        docs: None,
        strace: true,
    };
    let mut list = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--only" => o.only = Some(it.next().ok_or("--only needs a name")?.clone()),
            "--runs" => {
                let n = it.next().ok_or("--runs needs a number")?;
                o.runs = n.parse().map_err(|_| format!("--runs {n}: not a number"))?;
                if o.runs == 0 {
                    return Err("--runs must be at least 1".into());
                }
            }
            "--docs" => o.docs = Some(it.next().ok_or("--docs needs a directory")?.into()),
            "--no-strace" => o.strace = false,
            "--list" => list = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.runs == 0 {
        o.runs = if o.quick { 3 } else { 5 };
    }
    Ok((o, list))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Hidden modes: the bench re-executes itself for measurements that need a fresh process.
    match args.first().map(String::as_str) {
        Some(memory::CHILD_FLAG) => memory::child(&args[1..]),
        Some(report::ECHO_FLAG) => report::echo_child(&args[1..]),
        Some("-h" | "--help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let (opts, list) = match parse(&args) {
        Ok(p) => p,
        Err(e) => {
            eprint!("eddy-bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let all = workloads::all(opts.quick);
    if list {
        for w in &all {
            println!("{}", w.name);
        }
        return ExitCode::SUCCESS;
    }
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|w| {
            opts.only
                .as_ref()
                .is_none_or(|o| w.name.starts_with(o.as_str()))
        })
        .collect();
    if chosen.is_empty() {
        eprintln!(
            "eddy-bench: no workload matches {:?} (see --list)",
            opts.only
        );
        return ExitCode::from(2);
    }
    let started = std::time::Instant::now();
    let rows = workloads::run_all(&chosen, opts.runs);
    let prims = workloads::primitives(opts.quick);
    let table = report::table(&rows);
    println!("{table}");
    println!("{}", report::primitives_table(&prims));
    eprintln!("eddy-bench: done in {:.1?}", started.elapsed());
    if let Some(root) = &opts.docs
        && let Err(e) = report::write_docs(root, &rows, &prims, &opts)
    {
        eprintln!("eddy-bench: writing the docs failed: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
