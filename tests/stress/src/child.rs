//! One scenario, one process: the parent re-executes this binary with `--child NAME`, so
//! peak RSS is the scenario's own, and a crash or hang becomes a failed row, not a dead suite.
//!
//! The child prints its progress on stderr and one result line on stdout; the parent waits
//! for it with `wait4` (which also returns its peak RSS), kills it past its time limit, and
//! turns what it saw into a [`Row`].

use std::io::Read;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::Scenario;
use crate::harness::{Ctx, Size, UNEXPECTED, live_futures, open_fds, open_jobs};

/// The hidden flag that makes this binary run one scenario.
pub(crate) const CHILD_FLAG: &str = "--child";

/// The marker of the child's result line on stdout.
const RESULT: &str = "STRESS-RESULT";

/// The child's entry point: `--child NAME [--quick] [--seconds N]`.
pub(crate) fn main(args: &[String]) -> ExitCode {
    let Some(scenario) = args.first().and_then(|n| crate::find(n)) else {
        eprintln!("eddy-stress: {CHILD_FLAG} needs a scenario name (see --list)");
        return ExitCode::from(2);
    };
    let size = if args.iter().any(|a| a == "--quick") {
        Size::Quick
    } else {
        Size::Full
    };
    let seconds = args
        .iter()
        .position(|a| a == "--seconds")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok());
    // The progress thread reads the counters for the life of the process.
    let ctx: &'static Ctx = Box::leak(Box::new(Ctx::new(scenario.name, size, seconds)));
    let started = Instant::now();
    std::thread::Builder::new()
        .name("progress".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_secs(2));
                let (ops, errors, lost) = ctx.counts();
                eprintln!(
                    "  [{}] {:>4.0?} ops={ops} errors={errors} lost={lost}",
                    ctx.name,
                    started.elapsed()
                );
            }
        })
        .expect("starting the progress thread");

    let fds_before = open_fds();
    (scenario.run)(ctx);
    // Every runtime the scenario built is dropped by now: what is still counted leaked.
    let fds_after = open_fds();
    let (futures, jobs) = (live_futures(), open_jobs());
    let fds = fds_after.saturating_sub(fds_before + ctx.kept_fds());
    for (n, what) in [
        (futures, "futures never dropped"),
        (jobs, "blocking jobs never finished"),
        (fds, "file descriptors still open"),
    ] {
        if n > 0 {
            eprintln!("  [{}] LEAKED {n} {what}", ctx.name);
            ctx.note(format!("leaked: {n} {what}"));
        }
    }
    let (ops, errors, lost) = ctx.counts();
    let errors = errors + UNEXPECTED.load(Ordering::Relaxed);
    println!(
        "{RESULT}\t{ops}\t{errors}\t{lost}\t{}\t{}\t{}",
        futures + jobs + fds,
        u8::from(ctx.is_skipped()),
        ctx.notes()
    );
    ExitCode::SUCCESS
}

/// A line of the final table.
pub(crate) struct Row {
    pub(crate) name: &'static str,
    pub(crate) ops: Option<u64>,
    pub(crate) errors: Option<u64>,
    pub(crate) lost: Option<u64>,
    pub(crate) leaked: Option<u64>,
    /// Peak resident set of the child (and of anything it waited for), in KiB.
    pub(crate) peak_rss_kib: u64,
    pub(crate) verdict: String,
    pub(crate) failed: bool,
    pub(crate) note: String,
}

/// Runs `scenario` in a child process and waits at most `limit` for it.
pub(crate) fn run(scenario: &Scenario, extra: &[String], limit: Duration) -> Row {
    let exe = std::env::current_exe().expect("the stress binary knows its own path");
    let mut child = match Command::new(exe)
        .arg(CHILD_FLAG)
        .arg(scenario.name)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => return failed_row(scenario.name, 0, format!("FAIL (could not start: {e})")),
    };
    let pid = child.id() as libc::pid_t;
    let started = Instant::now();
    let mut killed = false;
    let (status, usage) = loop {
        let mut status = 0;
        // SAFETY: rusage is plain old data; all-zero is a valid value for wait4 to overwrite.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if killed { 0 } else { libc::WNOHANG };
        // SAFETY: `pid` is our own child, not yet reaped (only this loop reaps it);
        // `status` and `usage` are valid, writable locations.
        let r = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        if r == pid {
            break (status, usage);
        }
        if r < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return failed_row(scenario.name, 0, "FAIL (lost track of the child)".into());
        }
        if !killed && started.elapsed() > limit {
            eprintln!(
                "  [{}] still running after {limit:?}: killing it",
                scenario.name
            );
            // SAFETY: kill has no memory preconditions; `pid` is our unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
            continue;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let peak = usage.ru_maxrss as u64;
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    if killed {
        return failed_row(
            scenario.name,
            peak,
            format!("FAIL (hung: killed after {limit:?})"),
        );
    }
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        return failed_row(
            scenario.name,
            peak,
            format!("FAIL (killed by signal {sig})"),
        );
    }
    let code = libc::WEXITSTATUS(status);
    let Some(fields) = stdout
        .lines()
        .find_map(|l| l.strip_prefix(RESULT))
        .map(|l| l.trim_start_matches('\t').split('\t').collect::<Vec<_>>())
    else {
        return failed_row(
            scenario.name,
            peak,
            format!("FAIL (exit {code}, no result: a panic?)"),
        );
    };
    let num = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let (ops, errors, lost, leaked) = (num(0), num(1), num(2), num(3));
    let skipped = num(4) == Some(1);
    let note = fields.get(5).copied().unwrap_or("").to_owned();
    let clean = code == 0 && errors == Some(0) && lost == Some(0) && leaked == Some(0);
    let verdict = if skipped {
        "skipped".to_owned()
    } else if clean {
        "pass".to_owned()
    } else if code != 0 {
        format!("FAIL (exit {code})")
    } else {
        "FAIL".to_owned()
    };
    Row {
        name: scenario.name,
        ops,
        errors,
        lost,
        leaked,
        peak_rss_kib: peak,
        failed: !clean && !skipped,
        verdict,
        note,
    }
}

fn failed_row(name: &'static str, peak_rss_kib: u64, verdict: String) -> Row {
    Row {
        name,
        ops: None,
        errors: None,
        lost: None,
        leaked: None,
        peak_rss_kib,
        verdict,
        failed: true,
        note: String::new(),
    }
}
