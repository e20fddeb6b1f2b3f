//! eddy-bench: eddy side by side with tokio, smol and a raw-epoll baseline, in one run.
//!
//! Every workload runs for each runtime in turn, run by run (eddy, tokio, smol, baseline,
//! eddy, ...), so drift on a shared machine spreads over all of them alike. Progress goes to
//! stderr; the table of medians, spreads and ratios goes to stdout. The server workloads
//! (`http_`, `resp_`: external clients against servers in child processes) have a table of
//! their own. `cargo xtask bench` builds this in release mode and runs it;
//! `../shared/BENCHMARKS.md` says what each workload is and which targets it has.
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
mod server;
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
    /// `--runs` was given: it then holds for the server rows under `--quick` too.
    pub(crate) runs_given: bool,
    /// The workspace root whose docs/benchmarks.md and SVG this run rewrites.
    pub(crate) docs: Option<std::path::PathBuf>,
    pub(crate) strace: bool,
}

const USAGE: &str = "\
usage: eddy-bench [--quick] [--only NAME] [--runs N] [--docs ROOT] [--no-strace] [--list]

  --quick      small sizes, 3 runs (server rows: fewer, 1 run): the whole bench in
               about a minute
  --only NAME  run the workloads whose name starts with NAME (spawn_local, tcp_echo,
               http_, resp_, ...)
  --runs N     runs per runtime (default 5; 3 with --quick, 1 for its server rows)
  --docs ROOT  rewrite ROOT/docs/benchmarks.md and ROOT/docs/benchmarks-ratio.svg
  --no-strace  leave out the syscalls-per-round-trip count in the docs
  --list       print the workload names and exit
";

fn parse(args: &[String]) -> Result<(Options, bool), String> {
    let mut o = Options {
        quick: false,
        only: None,
        runs: 0,
        runs_given: false,
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
                o.runs_given = true;
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
        Some(server::serve::SERVE_FLAG) => return server::serve::child(&args[1..]),
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
    let servers = server::plan(opts.quick);
    if list {
        let names = all.iter().chain(&servers.run).map(|w| w.name.as_str());
        for name in names.chain(servers.skipped.iter().map(|s| s.0.as_str())) {
            println!("{name}");
        }
        return ExitCode::SUCCESS;
    }
    let wanted = |name: &str| {
        opts.only
            .as_ref()
            .is_none_or(|o| name.starts_with(o.as_str()))
    };
    let chosen: Vec<_> = all.into_iter().filter(|w| wanted(&w.name)).collect();
    let chosen_servers: Vec<_> = servers
        .run
        .into_iter()
        .filter(|w| wanted(&w.name))
        .collect();
    let skipped: Vec<_> = servers
        .skipped
        .into_iter()
        .filter(|s| wanted(&s.0))
        .collect();
    if chosen.is_empty() && chosen_servers.is_empty() && skipped.is_empty() {
        eprintln!(
            "eddy-bench: no workload matches {:?} (see --list)",
            opts.only
        );
        return ExitCode::from(2);
    }
    for line in report::skipped(&skipped) {
        eprintln!("eddy-bench: skipping {line}");
    }
    let started = std::time::Instant::now();
    let mut failures = Vec::new();
    let rows = workloads::run_all(&chosen, opts.runs, &mut failures);
    // The server rows' one short series under `--quick` keeps CI's run of it short.
    let server_runs = if opts.quick && !opts.runs_given {
        1
    } else {
        opts.runs
    };
    let server_rows = workloads::run_all(&chosen_servers, server_runs, &mut failures);
    let prims = if chosen.is_empty() {
        Vec::new()
    } else {
        workloads::primitives(opts.quick)
    };
    if !rows.is_empty() {
        println!("{}", report::table(&rows, &report::MICRO));
        println!("{}", report::primitives_table(&prims));
    }
    if !server_rows.is_empty() {
        println!("server workloads (external clients; CPU is the server process's own):");
        println!("{}", report::table(&server_rows, &report::SERVERS));
    }
    for line in report::skipped(&skipped) {
        println!("skipped {line}");
    }
    if !failures.is_empty() {
        println!(
            "failed runs (left out of the medians):\n{}",
            report::failures(&failures)
        );
    }
    eprintln!("eddy-bench: done in {:.1?}", started.elapsed());
    if let Some(root) = &opts.docs {
        let measured = report::Measured {
            rows: &rows,
            servers: &server_rows,
            skipped: &skipped,
            failures: &failures,
            prims: &prims,
        };
        if let Err(e) = report::write_docs(root, &measured, &opts) {
            eprintln!("eddy-bench: writing the docs failed: {e}");
            return ExitCode::FAILURE;
        }
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("eddy-bench: {} run(s) failed, listed above", failures.len());
        ExitCode::FAILURE
    }
}
