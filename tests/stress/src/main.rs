//! eddy-stress: eddy under load and under faults, with nothing lost and nothing leaked.
//!
//! Each scenario runs in a fresh child process (this binary, re-executed with `--child
//! NAME`): its peak RSS is its own, and a crash or a hang (killed at its time limit) is a
//! failed row of the table instead of the end of the run. Progress goes to stderr; the
//! table goes to stdout, and the exit status is non-zero if any scenario lost, leaked or
//! failed anything. `cargo xtask stress` builds this in release mode and runs it;
//! docs/testing.md says what each scenario proves.
//!
//! ```text
//! eddy-stress [--quick] [--only NAME] [--seconds N] [--list]
//! ```

mod child;
mod external;
mod faults;
mod harness;
mod load;
mod os;
mod peers;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use child::Row;
use harness::Ctx;

/// One scenario: its name (what `--only` matches) and its body, run in the child.
pub(crate) struct Scenario {
    pub(crate) name: &'static str,
    pub(crate) run: fn(&'static Ctx),
}

/// Every scenario, load first, then faults, then the ones driving outside tools.
const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "tcp_echo",
        run: load::tcp_echo,
    },
    Scenario {
        name: "timers",
        run: load::timers,
    },
    Scenario {
        name: "abort",
        run: load::abort,
    },
    Scenario {
        name: "wake_storm",
        run: load::wake_storm,
    },
    Scenario {
        name: "spawn_storm",
        run: load::spawn_storm,
    },
    Scenario {
        name: "blocking_pool",
        run: load::blocking_pool,
    },
    Scenario {
        name: "mixed_server",
        run: load::mixed_server,
    },
    Scenario {
        name: "process_churn",
        run: os::process_churn,
    },
    Scenario {
        name: "signal_storm",
        run: os::signal_storm,
    },
    Scenario {
        name: "emfile",
        run: faults::emfile,
    },
    Scenario {
        name: "emfile_unix",
        run: faults::emfile_unix,
    },
    Scenario {
        name: "peer_reset",
        run: faults::peer_reset,
    },
    Scenario {
        name: "peer_half_close",
        run: faults::peer_half_close,
    },
    Scenario {
        name: "peer_vanish",
        run: faults::peer_vanish,
    },
    Scenario {
        name: "peer_refused",
        run: faults::peer_refused,
    },
    Scenario {
        name: "epipe",
        run: faults::epipe,
    },
    Scenario {
        name: "panics",
        run: faults::panics,
    },
    Scenario {
        name: "eintr",
        run: faults::eintr,
    },
    Scenario {
        name: "drop_busy",
        run: faults::drop_busy,
    },
    Scenario {
        name: "peers",
        run: peers::peers,
    },
    Scenario {
        name: "wrk",
        run: external::wrk,
    },
    Scenario {
        name: "valgrind",
        run: external::valgrind,
    },
];

pub(crate) fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

const USAGE: &str = "\
usage: eddy-stress [--quick] [--only NAME] [--seconds N] [--list]

  --quick      smaller counts and shorter runs: the whole suite in about a minute
  --only NAME  run the scenarios whose name starts with NAME (tcp_echo, peer, ...)
  --seconds N  how long mixed_server, eintr and wrk run (default 90, 15 and 15 s; 8, 2
               and 3 s with --quick)
  --list       print the scenario names and exit
";

struct Options {
    quick: bool,
    only: Option<String>,
    seconds: Option<u64>,
    list: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        quick: false,
        only: None,
        seconds: None,
        list: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--only" => o.only = Some(it.next().ok_or("--only needs a name")?.clone()),
            "--seconds" => {
                let n = it.next().ok_or("--seconds needs a number")?;
                let n = n
                    .parse()
                    .map_err(|_| format!("--seconds {n}: not a number"))?;
                if n == 0 {
                    return Err("--seconds must be at least 1".into());
                }
                o.seconds = Some(n);
            }
            "--list" => o.list = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some(child::CHILD_FLAG) => return child::main(&args[1..]),
        Some(peers::PEER_CHILD) => return peers::child_main(&args[1..]),
        Some("-h" | "--help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let opts = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            eprint!("eddy-stress: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if opts.list {
        SCENARIOS.iter().for_each(|s| println!("{}", s.name));
        return ExitCode::SUCCESS;
    }
    let chosen: Vec<&Scenario> = SCENARIOS
        .iter()
        .filter(|s| opts.only.as_ref().is_none_or(|o| s.name.starts_with(o)))
        .collect();
    if chosen.is_empty() {
        eprintln!(
            "eddy-stress: no scenario matches {:?} (see --list)",
            opts.only
        );
        return ExitCode::from(2);
    }

    let mut extra = Vec::new();
    if opts.quick {
        extra.push("--quick".to_owned());
    }
    if let Some(n) = opts.seconds {
        extra.extend(["--seconds".to_owned(), n.to_string()]);
    }
    // Generous: a scenario is killed only when it is clearly hung.
    let limit = Duration::from_secs(if opts.quick { 120 } else { 400 } + opts.seconds.unwrap_or(0));
    let started = Instant::now();
    let mut rows = Vec::new();
    for scenario in chosen {
        eprintln!("==> {} ({:.0?} so far)", scenario.name, started.elapsed());
        let at = Instant::now();
        let row = child::run(scenario, &extra, limit);
        eprintln!(
            "<== {} {} in {:.1?}",
            scenario.name,
            row.verdict,
            at.elapsed()
        );
        rows.push(row);
    }
    print_table(&rows, opts.quick, started.elapsed());
    if rows.iter().any(|r| r.failed) {
        eprintln!("eddy-stress: FAILED: {}", failed_names(&rows));
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn failed_names(rows: &[Row]) -> String {
    rows.iter()
        .filter(|r| r.failed)
        .map(|r| r.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_table(rows: &[Row], quick: bool, took: Duration) {
    let num = |n: Option<u64>| n.map_or("-".to_owned(), thousands);
    let lines: Vec<[String; 8]> = rows
        .iter()
        .map(|r| {
            [
                r.name.to_owned(),
                num(r.ops),
                num(r.errors),
                num(r.lost),
                num(r.leaked),
                format!("{:.1} MiB", r.peak_rss_kib as f64 / 1024.0),
                r.verdict.clone(),
                r.note.clone(),
            ]
        })
        .collect();
    let header = [
        "scenario",
        "operations",
        "errors",
        "lost",
        "leaked",
        "peak RSS",
        "verdict",
        "notes",
    ];
    let mut widths = header.map(str::len);
    for line in &lines {
        for (w, cell) in widths.iter_mut().zip(line) {
            *w = (*w).max(cell.chars().count());
        }
    }
    println!(
        "\neddy-stress{}: {} scenarios in {took:.1?}{}\n",
        if quick { " --quick" } else { "" },
        rows.len(),
        if quick {
            " (quick: smaller counts and shorter runs, given in the notes)"
        } else {
            ""
        }
    );
    let row = |cells: &[String]| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            // Names, verdicts and notes read left to right; numbers line up on the right.
            if matches!(i, 0 | 6 | 7) {
                out.push_str(&format!("| {cell:<w$} "));
            } else {
                out.push_str(&format!("| {cell:>w$} "));
            }
        }
        out.push('|');
        out
    };
    println!("{}", row(&header.map(str::to_owned)));
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(i, &w)| {
            if matches!(i, 0 | 6 | 7) {
                "-".repeat(w)
            } else {
                format!("{}:", "-".repeat(w - 1))
            }
        })
        .collect();
    println!("{}", row(&rule));
    for line in &lines {
        println!("{}", row(line));
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
