//! The list of workloads, their sizes (full and `--quick`), their targets, and the
//! interleaved loop that runs them.

use std::time::Duration;

use crate::net::{self, NetResult, Stop};
use crate::rt::{Eddy, Smol, Tokio};
use crate::stats::{Summary, summarize};
use crate::{baseline, memory, primitives, tasks, timers};

/// The table's runtime columns, in the order they run.
pub(crate) const COLUMNS: [&str; 4] = ["eddy", "tokio", "smol", "baseline"];

/// What a row's target asks of eddy.
#[derive(Clone, Copy)]
pub(crate) enum Target {
    /// eddy's figure at most this fraction of tokio's (costs, latencies, memory).
    AtMostOfTokio(f64),
    /// eddy's figure at least this multiple of tokio's (throughputs).
    AtLeastOfTokio(f64),
}

/// One figure a workload reports, and the targets BENCHMARKS.md sets for it.
pub(crate) struct Figure {
    pub(crate) unit: &'static str,
    pub(crate) higher_is_better: bool,
    /// What eddy's figure should be beside tokio's, where BENCHMARKS.md says.
    pub(crate) target: Option<Target>,
    /// eddy's throughput at least this fraction of the baseline's: of the figure itself
    /// when higher is better, of its inverse (operations per unit of cost) when not.
    pub(crate) baseline_target: Option<f64>,
}

/// One run of one column: the figures in the workload's order (NaN for one this run
/// cannot measure, shown as "—"), or why the run failed (a failed run is reported, never
/// counted).
pub(crate) type Runner = Box<dyn Fn() -> Result<Vec<f64>, String>>;

/// A workload: a name, the figures each run yields, and one runner per column that has it.
pub(crate) struct Workload {
    pub(crate) name: String,
    pub(crate) figures: Vec<Figure>,
    runners: Vec<(usize, Runner)>,
}

impl Workload {
    /// A workload whose column `c` runs `runners`' entry `(c, runner)`.
    pub(crate) fn new(name: String, figures: Vec<Figure>, runners: Vec<(usize, Runner)>) -> Self {
        Workload {
            name,
            figures,
            runners,
        }
    }
}

/// One output row: a workload's figure with each column's summary.
pub(crate) struct Row {
    pub(crate) workload: String,
    pub(crate) figure: &'static str,
    pub(crate) higher_is_better: bool,
    pub(crate) target: Option<Target>,
    pub(crate) baseline_target: Option<f64>,
    /// The summary of each column's successful runs.
    pub(crate) cols: [Option<Summary>; 4],
    /// Each column's failed runs, left out of `cols`.
    pub(crate) failed: [usize; 4],
}

impl Row {
    /// eddy's median divided by column `c`'s.
    pub(crate) fn ratio(&self, c: usize) -> Option<f64> {
        let e = self.cols[0]?.median;
        let p = self.cols[c]?.median;
        (p > 0.0).then(|| e / p)
    }

    /// eddy's cost relative to tokio's: below 1 means eddy is ahead, for every figure.
    pub(crate) fn cost_ratio(&self) -> Option<f64> {
        let r = self.ratio(1)?;
        Some(if self.higher_is_better { 1.0 / r } else { r })
    }
}

fn cost(unit: &'static str, at_most: f64) -> Figure {
    Figure {
        unit,
        higher_is_better: false,
        target: Some(Target::AtMostOfTokio(at_most)),
        baseline_target: None,
    }
}

fn throughput(unit: &'static str, baseline: Option<f64>) -> Figure {
    Figure {
        unit,
        higher_is_better: true,
        // "≤ 0.8 elsewhere" in time per operation is ≥ 1.25 in operations per second.
        target: Some(Target::AtLeastOfTokio(1.25)),
        baseline_target: baseline,
    }
}

fn one(f: impl Fn() -> f64 + 'static) -> Runner {
    Box::new(move || Ok(vec![f()]))
}

fn net_figures() -> Vec<Figure> {
    vec![
        throughput("round trips/s", Some(0.9)),
        cost("p50 µs", 0.8),
        cost("p99 µs", 0.8),
        cost("p99.9 µs", 0.8),
    ]
}

fn net_runner(f: impl Fn() -> NetResult + 'static) -> Runner {
    Box::new(move || {
        let r = f();
        let us = |q| r.hist.quantile(q) as f64 / 1000.0;
        Ok(vec![r.rps, us(0.5), us(0.99), us(0.999)])
    })
}

/// A runner reporting a lateness histogram's p50 and p99 in µs.
fn lateness(f: impl Fn() -> crate::stats::Histogram + 'static) -> Runner {
    Box::new(move || {
        let h = f();
        Ok(vec![
            h.quantile(0.5) as f64 / 1000.0,
            h.quantile(0.99) as f64 / 1000.0,
        ])
    })
}

fn label(n: usize) -> String {
    match n {
        n if n >= 1_000_000 && n % 1_000_000 == 0 => format!("{}M", n / 1_000_000),
        n if n >= 1000 && n % 1000 == 0 => format!("{}k", n / 1000),
        n => n.to_string(),
    }
}

/// Every workload at its full or `--quick` size.
pub(crate) fn all(quick: bool) -> Vec<Workload> {
    let q = |full: usize, small: usize| if quick { small } else { full };
    let mut w = Vec::new();
    let flavours = [("current-thread", 0usize), ("2 workers", 2usize)];

    let n = q(1_000_000, 100_000);
    for (fl, workers) in flavours {
        let mut runners = vec![
            (0, one(move || tasks::spawn_local::<Eddy>(workers, n))),
            (1, one(move || tasks::spawn_local::<Tokio>(workers, n))),
        ];
        if workers == 0 {
            runners.push((2, one(move || tasks::spawn_local::<Smol>(0, n))));
        }
        w.push(Workload {
            name: format!("spawn_local {fl}"),
            figures: vec![cost("ns/task", 0.5)],
            runners,
        });
    }

    let n = q(100_000, 20_000);
    w.push(Workload {
        name: "spawn_remote 2 workers".into(),
        figures: vec![cost("ns/task", 0.5)],
        runners: vec![
            (0, one(move || tasks::spawn_remote::<Eddy>(2, n))),
            (1, one(move || tasks::spawn_remote::<Tokio>(2, n))),
        ],
    });

    let (t, y) = (q(1000, 200), q(1000, 200));
    for (fl, workers) in flavours {
        let mut runners = vec![
            (0, one(move || tasks::yield_many::<Eddy>(workers, t, y))),
            (1, one(move || tasks::yield_many::<Tokio>(workers, t, y))),
        ];
        if workers == 0 {
            runners.push((2, one(move || tasks::yield_many::<Smol>(0, t, y))));
        }
        w.push(Workload {
            name: format!("yield_many {fl}"),
            figures: vec![cost("ns/yield", 0.5)],
            runners,
        });
        // The same with eddy's debug mode on (tokio as usual): set beside the row above,
        // the ratio difference is what debug mode costs (issue: under 5%).
        w.push(Workload {
            name: format!("yield_many {fl}, eddy in debug mode"),
            figures: vec![cost("ns/yield", 0.5)],
            runners: vec![
                (
                    0,
                    one(move || {
                        crate::rt::with_eddy_debug(|| tasks::yield_many::<Eddy>(workers, t, y))
                    }),
                ),
                (1, one(move || tasks::yield_many::<Tokio>(workers, t, y))),
            ],
        });
    }

    let d = 10_000;
    for (fl, workers) in flavours {
        let mut runners = vec![
            (0, one(move || tasks::chained_spawn::<Eddy>(workers, d))),
            (1, one(move || tasks::chained_spawn::<Tokio>(workers, d))),
        ];
        if workers == 0 {
            runners.push((2, one(move || tasks::chained_spawn::<Smol>(0, d))));
        }
        w.push(Workload {
            name: format!("chained_spawn {fl}"),
            figures: vec![cost("ns/task", 0.5)],
            runners,
        });
    }

    let n = q(200_000, 20_000);
    w.push(Workload {
        name: "ping_pong_local".into(),
        figures: vec![cost("ns/round trip", 0.8)],
        runners: vec![
            (0, one(move || tasks::ping_pong::<Eddy>(0, n))),
            (1, one(move || tasks::ping_pong::<Tokio>(0, n))),
            (2, one(move || tasks::ping_pong::<Smol>(0, n))),
        ],
    });
    let n = q(20_000, 2_000);
    w.push(Workload {
        name: "ping_pong_threads 2 workers".into(),
        figures: vec![cost("µs/round trip", 0.8)],
        runners: vec![
            (0, one(move || tasks::ping_pong::<Eddy>(2, n) / 1000.0)),
            (1, one(move || tasks::ping_pong::<Tokio>(2, n) / 1000.0)),
        ],
    });

    let ops = q(1_000_000, 100_000);
    let lives: &[usize] = if quick {
        &[1_000, 100_000]
    } else {
        &[1_000, 100_000, 1_000_000]
    };
    for &live in lives {
        w.push(Workload {
            name: format!("timer_churn {} live", label(live)),
            figures: vec![cost("ns/insert+cancel", 0.5)],
            runners: vec![
                (0, one(move || timers::timer_churn::<Eddy>(live, ops))),
                (1, one(move || timers::timer_churn::<Tokio>(live, ops))),
                (2, one(move || timers::timer_churn::<Smol>(live, ops))),
            ],
        });
    }

    let n = q(100_000, 10_000);
    let spread = Duration::from_millis(200);
    w.push(Workload {
        name: format!("timer_fire {} over 200 ms", label(n)),
        figures: vec![cost("late p50 µs", 0.8), cost("late p99 µs", 0.8)],
        runners: vec![
            (0, lateness(move || timers::timer_fire::<Eddy>(n, spread))),
            (1, lateness(move || timers::timer_fire::<Tokio>(n, spread))),
            (2, lateness(move || timers::timer_fire::<Smol>(n, spread))),
        ],
    });

    let n = q(1_000_000, 100_000);
    w.push(Workload {
        name: format!("idle_memory {} tasks", label(n)),
        figures: vec![cost("RSS bytes/task", 0.5)],
        runners: vec![
            (0, one(move || memory::idle_memory("eddy", n))),
            (1, one(move || memory::idle_memory("tokio", n))),
            (2, one(move || memory::idle_memory("smol", n))),
        ],
    });

    let secs = if quick {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(3)
    };
    for conns in [1usize, 16, 256] {
        w.push(Workload {
            name: format!("tcp_echo {conns} conn"),
            figures: net_figures(),
            runners: vec![
                (
                    0,
                    net_runner(move || net::tcp_echo::<Eddy>(conns, Stop::after(secs))),
                ),
                (
                    1,
                    net_runner(move || net::tcp_echo::<Tokio>(conns, Stop::after(secs))),
                ),
                (
                    2,
                    net_runner(move || net::tcp_echo::<Smol>(conns, Stop::after(secs))),
                ),
                (
                    3,
                    net_runner(move || {
                        baseline::tcp_echo(conns, Stop::after(secs)).expect("baseline tcp_echo")
                    }),
                ),
            ],
        });
    }
    w.push(Workload {
        name: "udp_pingpong".into(),
        figures: net_figures(),
        runners: vec![
            (
                0,
                net_runner(move || net::udp_pingpong::<Eddy>(Stop::after(secs))),
            ),
            (
                1,
                net_runner(move || net::udp_pingpong::<Tokio>(Stop::after(secs))),
            ),
            (
                2,
                net_runner(move || net::udp_pingpong::<Smol>(Stop::after(secs))),
            ),
            (
                3,
                net_runner(move || {
                    baseline::udp_pingpong(Stop::after(secs)).expect("baseline udp")
                }),
            ),
        ],
    });

    let bytes = if quick { 64 << 20 } else { 1 << 30 };
    w.push(Workload {
        name: format!(
            "tcp_stream {} each way",
            if quick { "64 MiB" } else { "1 GiB" }
        ),
        figures: vec![throughput("GB/s", Some(0.9))],
        runners: vec![
            (0, one(move || net::tcp_stream::<Eddy>(bytes))),
            (1, one(move || net::tcp_stream::<Tokio>(bytes))),
            (2, one(move || net::tcp_stream::<Smol>(bytes))),
            (
                3,
                one(move || baseline::tcp_stream(bytes).expect("baseline tcp_stream")),
            ),
        ],
    });

    let n = q(10_000, 2_000);
    w.push(Workload {
        name: format!("blocking {}", label(n)),
        figures: vec![throughput("calls/s", None)],
        runners: vec![
            (0, one(move || tasks::blocking::<Eddy>(n))),
            (1, one(move || tasks::blocking::<Tokio>(n))),
            (2, one(move || tasks::blocking::<Smol>(n))),
        ],
    });
    w
}

/// A run that failed: where, and why.
pub(crate) struct RunFailure {
    pub(crate) workload: String,
    pub(crate) column: &'static str,
    pub(crate) run: usize,
    pub(crate) why: String,
}

/// Runs every workload `runs` times per runtime, interleaved (run `k` of every column
/// before run `k + 1` of any), and summarises the rows; failed runs are listed apart.
pub(crate) fn run_all(
    workloads: &[Workload],
    runs: usize,
    failures: &mut Vec<RunFailure>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for w in workloads {
        // samples[col][figure] = one value per run
        let mut samples = vec![vec![Vec::new(); w.figures.len()]; COLUMNS.len()];
        let mut failed = [0; 4];
        for k in 1..=runs {
            for (col, runner) in &w.runners {
                eprintln!("  {} · {} · run {k} of {runs}", w.name, COLUMNS[*col]);
                match runner() {
                    Ok(values) => {
                        for (i, v) in values.into_iter().enumerate() {
                            if !v.is_nan() {
                                samples[*col][i].push(v);
                            }
                        }
                    }
                    Err(why) => {
                        eprintln!("  FAILED: {why}");
                        failed[*col] += 1;
                        failures.push(RunFailure {
                            workload: w.name.clone(),
                            column: COLUMNS[*col],
                            run: k,
                            why,
                        });
                    }
                }
            }
        }
        for (i, f) in w.figures.iter().enumerate() {
            rows.push(Row {
                workload: w.name.clone(),
                figure: f.unit,
                higher_is_better: f.higher_is_better,
                target: f.target,
                baseline_target: f.baseline_target,
                cols: std::array::from_fn(|c| summarize(&samples[c][i])),
                failed,
            });
        }
    }
    rows
}

/// The primitive costs, each the median of five measurements.
pub(crate) fn primitives(quick: bool) -> Vec<(&'static str, f64)> {
    let n: u64 = if quick { 200_000 } else { 2_000_000 };
    let med = |f: fn(u64) -> f64| {
        summarize(&(0..5).map(|_| f(n)).collect::<Vec<_>>()).map_or(0.0, |s| s.median)
    };
    eprintln!("  primitives");
    vec![
        (
            "uncontended atomic RMW (fetch_add)",
            med(primitives::atomic_rmw),
        ),
        ("malloc + free, 128 B", med(primitives::malloc_free)),
        ("eventfd write", med(primitives::eventfd_write)),
        ("futex wake, no waiter", med(primitives::futex_wake)),
    ]
}
