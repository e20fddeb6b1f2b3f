//! The table on stdout, and the docs: docs/benchmarks.md, the SVG chart of eddy/tokio, and
//! the syscalls per echo round trip counted with `strace -c -f`.

use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::process::Command;

use crate::Options;
use crate::net::{self, Stop};
use crate::rt::{Eddy, Tokio};
use crate::workloads::{Row, RunFailure, Target};

/// The hidden flag for one fixed-length echo run, the process `strace` watches.
pub(crate) const ECHO_FLAG: &str = "--echo-rounds-child";

/// Round trips the strace child makes: enough that start-up syscalls are noise.
const STRACE_ROUNDS: u64 = 10_000;

/// The strace child: `RUNTIME ROUNDS`, one connection, prints nothing. `RUNTIME` with a
/// `-udp` suffix (`eddy-udp`) runs udp_pingpong instead, for profiling that path alike.
pub(crate) fn echo_child(args: &[String]) -> ! {
    let rounds = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(STRACE_ROUNDS);
    let stop = Stop::rounds(rounds);
    match args.first().map(String::as_str) {
        Some("eddy") => drop(net::tcp_echo::<Eddy>(1, stop)),
        Some("tokio") => drop(net::tcp_echo::<Tokio>(1, stop)),
        Some("baseline") => drop(crate::baseline::tcp_echo(1, stop).expect("baseline echo")),
        Some("eddy-udp") => drop(net::udp_pingpong::<Eddy>(stop)),
        Some("tokio-udp") => drop(net::udp_pingpong::<Tokio>(stop)),
        Some("baseline-udp") => drop(crate::baseline::udp_pingpong(stop).expect("baseline udp")),
        other => {
            eprintln!("eddy-bench: unknown runtime {other:?} for {ECHO_FLAG}");
            std::process::exit(2)
        }
    }
    std::process::exit(0)
}

fn fmt_num(v: f64) -> String {
    let a = v.abs();
    if a >= 100_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn cell(row: &Row, c: usize) -> String {
    let failed = row.failed[c];
    match row.cols[c] {
        Some(s) if failed > 0 => format!(
            "{} ({}–{}), {failed} failed",
            fmt_num(s.median),
            fmt_num(s.min),
            fmt_num(s.max)
        ),
        Some(s) => format!(
            "{} ({}–{})",
            fmt_num(s.median),
            fmt_num(s.min),
            fmt_num(s.max)
        ),
        None if failed > 0 => "failed".into(),
        None => "—".into(),
    }
}

fn ratio(r: Option<f64>) -> String {
    r.map_or("—".into(), |r| format!("{r:.2}"))
}

/// Which columns a table shows, and what it calls them.
pub(crate) struct Layout {
    cols: &'static [(usize, &'static str)],
    /// The ratios shown: eddy's median over column `c`'s.
    ratios: &'static [(usize, &'static str)],
    /// What the verdicts call column 3.
    baseline: &'static str,
}

/// The micro-benchmarks: every runtime, and the selector baseline.
pub(crate) const MICRO: Layout = Layout {
    cols: &[(0, "eddy"), (1, "tokio"), (2, "smol"), (3, "baseline")],
    ratios: &[(1, "eddy/tokio"), (3, "eddy/baseline")],
    baseline: "baseline",
};

/// The server workloads: no smol server; the baseline is the raw epoll server.
pub(crate) const SERVERS: Layout = Layout {
    cols: &[(0, "eddy"), (1, "tokio"), (3, "raw epoll")],
    ratios: &[(1, "eddy/tokio"), (3, "eddy/raw")],
    baseline: "raw",
};

impl Layout {
    fn header(&self, with_target: bool) -> Vec<String> {
        let mut h = vec!["workload".to_string(), "figure".to_string()];
        h.extend(self.cols.iter().map(|c| c.1.to_string()));
        h.extend(self.ratios.iter().map(|r| r.1.to_string()));
        if with_target {
            h.push("target".into());
        }
        h
    }

    fn cells(&self, row: &Row, with_target: bool) -> Vec<String> {
        let mut cells = vec![row.workload.clone(), row.figure.to_string()];
        cells.extend(self.cols.iter().map(|&(c, _)| cell(row, c)));
        cells.extend(self.ratios.iter().map(|&(c, _)| ratio(row.ratio(c))));
        if with_target {
            cells.push(verdict(row, self.baseline));
        }
        cells
    }

    /// The rows as a markdown table, with each row's verdict.
    fn markdown(&self, rows: &[Row]) -> String {
        let header = self.header(true);
        let mut md = format!("| {} |\n", header.join(" | "));
        md += &format!("|{}\n", " --- |".repeat(header.len()));
        for r in rows {
            md += &format!("| {} |\n", self.cells(r, true).join(" | "));
        }
        md
    }
}

/// Whether the row meets its BENCHMARKS.md targets against tokio and the baseline.
fn verdict(row: &Row, baseline: &str) -> String {
    let mut parts = Vec::new();
    if let (Some(target), Some(r)) = (row.target, row.ratio(1)) {
        let (ok, want) = match target {
            Target::AtMostOfTokio(x) => (r <= x, format!("≤ {x}")),
            Target::AtLeastOfTokio(x) => (r >= x, format!("≥ {x}")),
        };
        parts.push(format!("{want} of tokio: {}", met(ok)));
    }
    if let (Some(t), Some(b)) = (row.baseline_target, row.ratio(3)) {
        parts.push(if row.higher_is_better {
            format!("≥ {t} of {baseline}: {}", met(b >= t))
        } else {
            // At least `t` of the baseline's operations per unit of cost is at most
            // `1 / t` of its cost.
            format!("≤ {:.2} of {baseline}: {}", 1.0 / t, met(b <= 1.0 / t))
        });
    }
    if row.workload.starts_with("idle_memory") {
        let ok = row.cols[0].is_some_and(|s| s.median <= 96.0);
        parts.push(format!("≤ 96 B/task: {}", met(ok)));
    }
    if parts.is_empty() {
        "—".into()
    } else {
        parts.join("; ")
    }
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "not yet" }
}

/// The plain-text table printed on stdout.
pub(crate) fn table(rows: &[Row], layout: &Layout) -> String {
    let header = layout.header(false);
    let body: Vec<Vec<String>> = rows.iter().map(|r| layout.cells(r, false)).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for b in &body {
        for (w, c) in widths.iter_mut().zip(b) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (c, w) in cells.iter().zip(&widths) {
            let pad = w - c.chars().count();
            let _ = write!(s, "{c}{}  ", " ".repeat(pad));
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&header);
    for b in &body {
        out += &line(b);
    }
    out
}

/// The skipped rows, one line per run of rows of one family skipped for one reason:
/// "8 http_hello rows: `wrk` cannot be started ...".
pub(crate) fn skipped(skipped: &[(String, String)]) -> Vec<String> {
    let mut groups: Vec<(&str, usize, &str)> = Vec::new();
    for (name, why) in skipped {
        let family = name.split(' ').next().unwrap_or(name);
        match groups.last_mut() {
            Some((f, n, w)) if *f == family && *w == why => *n += 1,
            _ => groups.push((family, 1, why)),
        }
    }
    groups
        .into_iter()
        .map(|(family, n, why)| format!("{n} {family} row(s): {why}"))
        .collect()
}

/// The failed runs, one line each.
pub(crate) fn failures(failures: &[RunFailure]) -> String {
    let mut s = String::new();
    for f in failures {
        let _ = writeln!(
            s,
            "- {} · {} · run {}: {}",
            f.workload,
            f.column,
            f.run,
            f.why.replace('\n', " ")
        );
    }
    s
}

/// The primitive costs as text.
pub(crate) fn primitives_table(prims: &[(&str, f64)]) -> String {
    let mut s = String::from("primitive costs (same run, median of 5):\n");
    for (name, ns) in prims {
        let _ = writeln!(s, "  {name:<36} {ns:>8.1} ns");
    }
    s
}

/// eddy/tokio as a cost (below 1: eddy ahead) per row, one bar each, drawn by hand.
pub(crate) fn svg(rows: &[Row]) -> String {
    let bars: Vec<(String, f64)> = rows
        .iter()
        .filter_map(|r| Some((format!("{} · {}", r.workload, r.figure), r.cost_ratio()?)))
        .collect();
    let (left, width, bar_h, top) = (330.0, 420.0, 18.0, 40.0);
    let max = bars.iter().map(|b| b.1).fold(2.0f64, f64::max).min(8.0);
    let x = |v: f64| left + width * v.min(max) / max;
    let height = top + bars.len() as f64 * (bar_h + 6.0) + 30.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"14\">eddy cost / tokio cost (time, latency, memory; \
         inverse of throughput): below 1 = eddy ahead</text>\n",
        w = left + width + 80.0
    );
    for (v, dash) in [(0.5, "4 3"), (1.0, "")] {
        let _ = writeln!(
            s,
            "<line x1=\"{0}\" y1=\"{top}\" x2=\"{0}\" y2=\"{1}\" stroke=\"#444\" \
             stroke-dasharray=\"{dash}\"/><text x=\"{0}\" y=\"{2}\" text-anchor=\"middle\">{v}</text>",
            x(v),
            height - 25.0,
            height - 10.0
        );
    }
    for (i, (name, v)) in bars.iter().enumerate() {
        let y = top + i as f64 * (bar_h + 6.0);
        let colour = if *v <= 1.0 { "#3a8f3a" } else { "#c0392b" };
        let name = name.replace('&', "&amp;").replace('<', "&lt;");
        let _ = writeln!(
            s,
            "<text x=\"{tx}\" y=\"{ty}\" text-anchor=\"end\">{name}</text>\
             <rect x=\"{left}\" y=\"{y}\" width=\"{bw:.1}\" height=\"{bar_h}\" fill=\"{colour}\"/>\
             <text x=\"{vx:.1}\" y=\"{ty}\">{v:.2}</text>",
            tx = left - 6.0,
            ty = y + 13.0,
            bw = x(*v) - left,
            vx = x(*v) + 4.0,
        );
    }
    s + "</svg>\n"
}

fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Syscalls per round trip for one runtime, and epoll_ctl calls in the whole run.
fn strace_one(runtime: &str) -> io::Result<(f64, u64, String)> {
    let exe = std::env::current_exe()?;
    let out = std::env::temp_dir().join(format!("eddy-bench-strace-{runtime}.txt"));
    let status = Command::new("strace")
        .args(["-c", "-f", "-o"])
        .arg(&out)
        .arg(&exe)
        .args([ECHO_FLAG, runtime, &STRACE_ROUNDS.to_string()])
        .status()?;
    if !status.success() {
        return Err(io::Error::other(format!("strace exited with {status}")));
    }
    let text = std::fs::read_to_string(&out)?;
    let calls = |name: &str| -> u64 {
        text.lines()
            .find(|l| l.split_whitespace().last() == Some(name))
            .and_then(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                // "% time  seconds  usecs/call  calls  [errors]  syscall"
                f.get(3).and_then(|c| c.parse().ok())
            })
            .unwrap_or(0)
    };
    let total = calls("total");
    let mut top: Vec<(u64, String)> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let name = *f.last()?;
            let c: u64 = f.get(3)?.parse().ok()?;
            (name != "total").then(|| (c, name.to_string()))
        })
        .collect();
    top.sort_by(|a, b| b.cmp(a));
    let breakdown = top
        .iter()
        .take(5)
        .map(|(c, n)| format!("{n} {:.2}", *c as f64 / STRACE_ROUNDS as f64))
        .collect::<Vec<_>>()
        .join(", ");
    Ok((
        total as f64 / STRACE_ROUNDS as f64,
        calls("epoll_ctl"),
        breakdown,
    ))
}

fn strace_section(opts: &Options) -> String {
    let mut s = String::from("## Syscalls per echo round trip\n\n");
    if !opts.strace {
        s += "Not counted in this run (`--no-strace`: strace was not installable).\n";
        return s;
    }
    let _ = writeln!(
        s,
        "`strace -c -f` around one connection making {STRACE_ROUNDS} round trips (client and \
         server in the same process, so a round trip is both ends' work: divide by 2 for one \
         end); start-up calls are included and spread over the round trips. Target: 4 per end \
         (read, write and the amortised `epoll_wait`), no `epoll_ctl` after registration. The \
         baseline's 3 per end is the floor: it takes a read shorter than its buffer as \
         drained. Each runtime reads a 64-byte message into a 64-byte buffer, which a full \
         read cannot judge: tokio reads again until `EAGAIN`, eddy asks the kernel how much \
         is left (`TCP_INQ`, Linux) and waits for the next edge when nothing is.\n"
    );
    s += "| runtime | syscalls per round trip | epoll_ctl in the whole run | busiest calls per round trip |\n";
    s += "| --- | --- | --- | --- |\n";
    for rt in ["eddy", "tokio", "baseline"] {
        eprintln!("  strace · {rt}");
        match strace_one(rt) {
            Ok((per, ctl, top)) => {
                let _ = writeln!(s, "| {rt} | {per:.2} | {ctl} | {top} |");
            }
            Err(e) => {
                let _ = writeln!(s, "| {rt} | not counted: {e} | | |");
            }
        }
    }
    s
}

/// Everything after this heading in docs/benchmarks.md is kept across runs: the log of
/// optimisations with their before/after ratios is written by people, not by the bench.
const KEPT: &str = "## Optimisation log";

/// Everything one run measured.
pub(crate) struct Measured<'a> {
    /// The micro-benchmark rows (runtimes in one process).
    pub(crate) rows: &'a [Row],
    /// The server rows (external clients).
    pub(crate) servers: &'a [Row],
    /// Server rows that did not run here, and why.
    pub(crate) skipped: &'a [(String, String)],
    pub(crate) failures: &'a [RunFailure],
    pub(crate) prims: &'a [(&'static str, f64)],
}

/// The "Server workloads" section: method, table, failed and skipped rows.
fn server_section(m: &Measured<'_>) -> String {
    let mut s = String::from("## Server workloads (external clients)\n\n");
    s += "Each row is a small server driven over loopback by a client nobody here wrote. The \
        protocol code is written once (tests/bench/src/server: an HTTP/1.1 hello handler that \
        answers every request in a read, pipelined or not, with a fixed 200 and keeps the \
        connection alive; a RESP handler serving PING, SET and GET, inline and multibulk, \
        from one store per server) and runs on eddy and on tokio, one task per connection, \
        current-thread or two workers, and hand-written on eddy-selector: one thread, one \
        edge-triggered epoll loop, no tasks and no wakers (the raw column, the limit for \
        both flavours). Every run starts a fresh server process and runs the client against \
        it to its end; runs are interleaved (eddy, tokio, raw, eddy, ...). The clients, at 50 \
        connections (256 alike, with `-c256` or `-c 256`):\n\n";
    let notes = [
        ": wrk's percentiles include its correction for coordinated omission",
        ": the script writes 16 `GET /` requests at once and sends the next 16 when all \
         are answered. These rows have no latency: wrk records one per batch but corrects \
         them with an interval taken per response, and the percentiles it prints then \
         read 0 from 75% up",
        ": four tests, PING_INLINE, PING_MBULK, SET and GET, `-n` requests each; req/s is \
         all requests over the time of all four, p50 and p99 are the highest of the four \
         tests' figures",
        ": the same, 16 requests in flight per connection",
    ];
    for (cmd, note) in crate::server::commands().iter().zip(notes) {
        let _ = writeln!(s, "- `{cmd}`{note}");
    }
    s += "\nreq/s, p50 and p99 are the client's. CPU µs/req is the server process's own CPU \
        time, user plus system over all its threads from its `getrusage(RUSAGE_SELF)`, read \
        just before the client starts and just after it exits, divided by the requests the \
        client reports; user CPU µs/req is its user-time part alone, the server's own code \
        and its runtime's, and the rest is the kernel's work for the same socket calls and \
        waits (with the same number of calls per request in all three servers, that part is \
        a floor no runtime lowers: docs/benchmarks.md, \"Where the floor is\"). Client and \
        server share the two cores, and the client takes about \
        as much CPU as the server: req/s then depends on how the scheduler splits the cores \
        between them and on the client's own cost per request as much as on the server, and \
        moves from run to run; the CPU time a server spends per request does not depend on \
        who else runs, so it is the steadier figure and the one the targets are set on. A \
        run with any error (a wrk socket error or non-2xx answer, an error from \
        redis-benchmark or a non-zero exit, a server that died, a client that did not \
        finish) is listed as failed and left out of the medians. Targets (BENCHMARKS.md): \
        CPU per request at most 0.95 of tokio's on the current-thread runtime and 0.9 on \
        two workers, with at least 0.9 of the raw server's requests per CPU-second (≤ 1.11 \
        of its CPU per request); on two workers a p99 no higher than tokio's.\n\n";
    if m.servers.is_empty() {
        s += "No server row ran.\n";
    } else {
        s += &SERVERS.markdown(m.servers);
    }
    if !m.failures.is_empty() {
        s += "\nFailed runs:\n\n";
        s += &failures(m.failures);
    }
    if !m.skipped.is_empty() {
        s += "\nNot run here:\n\n";
        for line in skipped(m.skipped) {
            let _ = writeln!(s, "- {line}");
        }
    }
    s
}

/// Rewrites ROOT/docs/benchmarks.md and ROOT/docs/benchmarks-ratio.svg.
pub(crate) fn write_docs(root: &Path, measured: &Measured<'_>, opts: &Options) -> io::Result<()> {
    let (rows, prims) = (measured.rows, measured.prims);
    let docs = root.join("docs");
    std::fs::write(docs.join("benchmarks-ratio.svg"), svg(rows))?;
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let commit = sh(
        "git",
        &[
            "-C",
            &root.to_string_lossy(),
            "rev-parse",
            "--short",
            "HEAD",
        ],
    );
    let dirty = !sh(
        "git",
        &[
            "-C",
            &root.to_string_lossy(),
            "status",
            "--porcelain",
            "--untracked-files=no",
        ],
    )
    .is_empty();
    let date = sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let mut md = String::new();
    md += "# Benchmarks: eddy beside tokio, smol and the raw-epoll baseline\n\n";
    md += "Generated by `cargo xtask bench` (tests/bench); do not edit above the optimisation \
           log, the next full run rewrites it. The workloads, peer figures and targets are \
           those of the project's BENCHMARKS.md.\n\n";
    let _ = writeln!(
        md,
        "- date: {date}\n- machine: {nproc} CPUs (`nproc`), {cpu}\n- commit: {commit}{}\n- runs: \
         {} per runtime, interleaved run by run\n",
        if dirty {
            " (with uncommitted changes)"
        } else {
            ""
        },
        opts.runs
    );
    md += "## How to read this\n\n\
        Each cell is the median of the runs, with the fastest and slowest run in brackets; \
        on a shared 2-vCPU virtual machine only the ratios of one run mean anything. \
        `eddy/tokio` and `eddy/baseline` divide eddy's median by the peer's: for costs \
        (ns, µs, bytes) below 1 is eddy ahead, for throughputs (round trips/s, calls/s) \
        above 1 is eddy ahead. The baseline is the same work written directly on \
        eddy-selector with one epoll loop, no tasks and no wakers: the kernel's cost with no \
        runtime. The network workloads run clients and servers as tasks of one \
        current-thread runtime; latencies come from a log-bucket histogram (within 12.5%, \
        rounded up). The chart shows every row as a cost ratio (throughputs inverted), so a \
        bar shorter than 1 is always eddy ahead; the dashed line is the 0.5 target.\n\n\
        Known limits of the harness: idle_memory counts the 8-byte join handle each runtime \
        keeps per task in a `Vec` (alike for all three); ping_pong_threads spawns its two \
        tasks on a 2-worker runtime but cannot pin them to different workers, so a run where \
        both land on one worker measures a same-thread bounce (a figure far below the 27 µs \
        of a sleeping-thread wake says so); smol runs only the current-thread workloads, on \
        async-executor driven by the calling thread. timer_fire measures each sleeper's \
        lateness from its own first poll, so it includes the time the runtime takes to get \
        through 100k timers falling due while it is still starting the others; eddy's and \
        tokio's wheels tick every millisecond, async-io's timers do not. tcp_stream moves \
        its bytes one direction at a time in 64 KiB `read_exact`/`write_all` calls. The \
        rows \"..., eddy in debug mode\" run eddy with debug mode on against tokio as \
        usual: beside the plain row, the difference is debug mode's cost.\n\n\
        ![eddy/tokio per workload](benchmarks-ratio.svg)\n\n";
    md += "## Results\n\n";
    md += &MICRO.markdown(rows);
    let churn = |live: &str| {
        rows.iter()
            .find(|r| r.workload == format!("timer_churn {live} live"))
            .and_then(|r| r.cols[0])
            .map(|s| s.median)
    };
    if let (Some(k), Some(m)) = (churn("1k"), churn("1M")) {
        let _ = writeln!(
            md,
            "\ntimer_churn at 1M live against 1k live, eddy: {:.2}x (target ≤ 1.5x: {}).",
            m / k,
            if m / k <= 1.5 { "met" } else { "not yet" }
        );
    }
    md += "\n";
    md += &server_section(measured);
    md += "\n## Primitive costs, same run\n\n| primitive | ns |\n| --- | --- |\n";
    for (name, ns) in prims {
        let _ = writeln!(md, "| {name} | {ns:.1} |");
    }
    md += "\n";
    md += &strace_section(opts);
    let path = docs.join("benchmarks.md");
    let kept = std::fs::read_to_string(&path)
        .ok()
        .and_then(|old| old.find(KEPT).map(|i| old[i..].to_string()))
        .unwrap_or_else(|| {
            format!(
                "{KEPT}\n\nEach optimisation, with eddy/tokio before and after, from one run each.\n\n\
                 | change | workload | before | after |\n| --- | --- | --- | --- |\n"
            )
        });
    md += "\n";
    md += &kept;
    std::fs::write(path, md)
}
