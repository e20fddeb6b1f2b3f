//! Scenarios that drive an outside tool: `wrk` against axum and hyper on eddy, and valgrind's
//! memcheck over a runtime dropped while busy.

// eddy-compat's axum example app, the one its curl test and `cargo xtask examples` run.
#[path = "../../../crates/compat/examples/app/mod.rs"]
mod app;

use std::process::Command;
use std::time::Duration;

use eddy::net::TcpListener;
use eddy_compat::{EddyTimer, HyperIo, TowerService};

use crate::harness::{Ctx, Flavor, Size, Tracked, prove_alive};
use crate::thousands;

/// Whether `program` runs at all (`--version` or `-v` succeeding is not required: wrk exits
/// 1 after printing its version).
fn installed(program: &str, arg: &str) -> bool {
    Command::new(program).arg(arg).output().is_ok()
}

/// Serves the axum app over HTTP/1.1 on `listener`, one task per connection, until
/// aborted; the connections live in a `JoinSet`, so aborting this task aborts them too.
async fn serve_http(listener: TcpListener) {
    let _t = Tracked::new();
    let app = TowerService::new(app::app(Default::default()));
    let mut connections = eddy::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let app = app.clone();
        connections.spawn(async move {
            let _t = Tracked::new();
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(EddyTimer)
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(HyperIo::new(stream), app);
            // wrk closes its connections when it stops; that is not a server error.
            let _ = conn.await;
        });
    }
}

/// wrk: `wrk` against the axum example app (through hyper and eddy-compat) on a two-worker runtime: no socket errors,
/// no non-2xx answers; the requests per second go in the table.
pub(crate) fn wrk(ctx: &Ctx) {
    if !installed("wrk", "-v") {
        ctx.skip("wrk is not installed (cargo xtask stress installs Debian's `wrk`)");
        return;
    }
    let run_for = ctx.duration(15, 3);
    let rt = Flavor::Multi.runtime();
    let (addr, server) = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        (addr, eddy::spawn(serve_http(listener)))
    });
    // wrk runs on this (non-runtime) thread while the workers serve.
    let out = Command::new("wrk")
        // A request slower than wrk's default 2 s timeout counts as a socket error; on a
        // loaded machine that is not a failure of the server, so only a hang should be.
        .args(["-t", "2", "-c", "64", "--timeout", "10s", "-d"])
        .arg(format!("{}s", run_for.as_secs()))
        .arg(format!("http://{addr}/"))
        .output();
    server.abort();
    rt.block_on(async {
        if eddy::timeout(Duration::from_secs(10), server)
            .await
            .is_err()
        {
            ctx.error("the HTTP server did not stop");
        }
    });
    let out = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => {
            ctx.error(format!(
                "wrk failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ));
            return;
        }
        Err(e) => {
            ctx.error(format!("wrk could not start: {e}"));
            return;
        }
    };
    eprint!("{out}");
    match parse_wrk(&out) {
        Some(report) => {
            ctx.ops(report.requests);
            if report.errors > 0 {
                ctx.error(format!(
                    "wrk saw {} socket errors or non-2xx answers",
                    report.errors
                ));
            }
            ctx.note(format!(
                "{} req/s over {run_for:?}, 2 wrk threads, 64 connections",
                thousands(report.per_second as u64)
            ));
        }
        None => ctx.error("could not read wrk's report"),
    }
    prove_alive(ctx, &rt, "wrk");
}

/// What the stress table needs from wrk's report.
struct WrkReport {
    requests: u64,
    per_second: f64,
    /// Socket errors (connect, read, write, timeout) plus non-2xx/3xx answers.
    errors: u64,
}

/// Reads `N requests in ...`, `Requests/sec: R`, and the optional `Socket errors:` and
/// `Non-2xx or 3xx responses:` lines of wrk's output.
fn parse_wrk(out: &str) -> Option<WrkReport> {
    let mut report = WrkReport {
        requests: 0,
        per_second: 0.0,
        errors: 0,
    };
    let mut seen = (false, false);
    for line in out.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            report.per_second = rest.trim().parse().ok()?;
            seen.1 = true;
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            report.errors += rest
                .split(',')
                .filter_map(|p| p.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum::<u64>();
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            report.errors += rest.trim().parse::<u64>().ok()?;
        } else if line.contains(" requests in ") {
            report.requests = line.split_whitespace().next()?.parse().ok()?;
            seen.0 = true;
        }
    }
    (seen.0 && seen.1).then_some(report)
}

/// valgrind: memcheck over `drop_busy` at the run's size (a runtime dropped with sockets,
/// timers, tasks and blocking jobs in flight): zero bytes definitely lost.
pub(crate) fn valgrind(ctx: &Ctx) {
    if !installed("valgrind", "--version") {
        ctx.skip("valgrind is not installed (cargo xtask stress installs Debian's `valgrind`)");
        return;
    }
    let exe = std::env::current_exe().expect("the stress binary knows its own path");
    let out = Command::new("valgrind")
        .args([
            // valgrind runs one thread at a time; by default a thread that never blocks
            // (the scenario's spinning tasks, a worker in its poll loop) may keep the
            // lock for long stretches while the others starve, which made this scenario
            // take from 40 s to past its 120 s limit here. The fair (ticket) lock hands
            // it round: 2.6 s.
            "--fair-sched=yes",
            "--leak-check=full",
            "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite",
            "--error-exitcode=99",
        ])
        .arg(exe)
        .args([crate::child::CHILD_FLAG, "drop_busy"])
        .args((ctx.size == Size::Quick).then_some("--quick"))
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            ctx.error(format!("valgrind could not start: {e}"));
            return;
        }
    };
    let log = String::from_utf8_lossy(&out.stderr);
    let child = String::from_utf8_lossy(&out.stdout);
    let definitely = definitely_lost(&log);
    match (out.status.code(), definitely) {
        (Some(0), Some(0)) => ctx.ops(1),
        (code, lost) => {
            eprint!("{log}");
            ctx.error(format!(
                "valgrind exited {code:?} with {lost:?} bytes definitely lost"
            ));
            if let Some(bytes) = lost {
                ctx.lose(bytes, "bytes definitely lost (valgrind)");
            }
        }
    }
    // The scenario under valgrind checks its own counts too: it must have passed them.
    let passed = child.lines().any(|l| {
        let fields: Vec<&str> = l.split('\t').collect();
        // STRESS-RESULT, ops, then errors, lost, leaked and skipped, all zero.
        fields.first() == Some(&"STRESS-RESULT") && fields.iter().skip(2).take(4).all(|f| *f == "0")
    });
    if !passed {
        ctx.error(format!(
            "drop_busy under valgrind did not pass: {}",
            child.trim()
        ));
    }
    ctx.note(format!(
        "drop_busy under memcheck: {} bytes definitely lost",
        definitely.map_or("?".to_owned(), |b| b.to_string())
    ));
}

/// The "definitely lost: N bytes" figure of a memcheck log; 0 when every block was freed
/// (memcheck then prints no leak summary).
fn definitely_lost(log: &str) -> Option<u64> {
    if log.contains("All heap blocks were freed") {
        return Some(0);
    }
    let line = log.lines().find(|l| l.contains("definitely lost:"))?;
    let figure = line
        .split("definitely lost:")
        .nth(1)?
        .split_whitespace()
        .next()?;
    figure.replace(',', "").parse().ok()
}
