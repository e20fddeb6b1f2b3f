//! idle_memory: RSS per task parked forever, measured in a fresh child process per runtime
//! so one runtime's freed-but-kept memory never pads another's figure.

use std::process::Command;

use crate::rt::{Eddy, Rt, Smol, Tokio};

/// The hidden flag the parent re-executes the bench binary with.
pub(crate) const CHILD_FLAG: &str = "--idle-memory-child";

/// This process's resident set in bytes, from /proc/self/status.
pub(crate) fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Bytes per task: parks `n` tasks on a future that never completes, lets every task run
/// once, and compares the RSS with the figure taken after the runtime started.
fn measure<R: Rt>(n: usize) -> f64 {
    R::run(0, async move {
        let before = rss();
        let handles: Vec<_> = (0..n)
            .map(|_| R::spawn(std::future::pending::<()>()))
            .collect();
        // Each task has now been polled once (yield lets the scheduler run them all).
        for _ in 0..4 {
            R::yield_now().await;
        }
        let after = rss();
        // The handles are part of what a caller holds per task; tokio and eddy pay for them
        // the same way. Forget them: dropping 1M handles is not what is measured.
        std::mem::forget(handles);
        (after.saturating_sub(before)) as f64 / n as f64
    })
}

/// The child's entry point: prints the figure on stdout.
pub(crate) fn child(args: &[String]) -> ! {
    let runtime = args.first().map(String::as_str).unwrap_or("");
    let n: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let v = match runtime {
        "eddy" => measure::<Eddy>(n),
        "tokio" => measure::<Tokio>(n),
        "smol" => measure::<Smol>(n),
        other => {
            eprintln!("eddy-bench: unknown runtime {other:?} for {CHILD_FLAG}");
            std::process::exit(2)
        }
    };
    println!("{v}");
    std::process::exit(0)
}

/// Runs one child for `runtime` and reads its figure.
pub(crate) fn idle_memory(runtime: &str, n: usize) -> f64 {
    let exe = std::env::current_exe().expect("the bench knows its own path");
    let out = Command::new(exe)
        .args([CHILD_FLAG, runtime, &n.to_string()])
        .output()
        .expect("re-executing the bench for idle_memory");
    assert!(
        out.status.success(),
        "idle_memory child for {runtime} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the idle_memory child prints one number")
}
