//! peers: the generative peer suite (`eddy_tests::peers`, docs/testing.md) at stress size,
//! every socket kind in a child process of its own, all kinds at once.
//!
//! A kind needs a process of its own because each case's idle check reads the whole
//! process's CPU time (`getrusage(RUSAGE_SELF)`); the kinds run side by side because most
//! of a case is the 200 ms idle wait, which costs no CPU.

use std::process::{Command, ExitCode, Stdio};

use eddy_tests::peers::{self, Flavour, SocketKind};

use crate::harness::Ctx;

/// The hidden flag that makes this binary run one kind: `--peer-child KIND CASES`.
pub(crate) const PEER_CHILD: &str = "--peer-child";

/// The marker of a kind's result lines on stdout.
const RESULT: &str = "PEER-RESULT";

pub(crate) fn peers(ctx: &Ctx) {
    // Per kind and flavour: 1,000 cases per kind in all.
    let cases = ctx.pick(500, 10);
    // Shrinking a stall takes seconds a try; keep a failing kind inside the scenario's limit.
    let shrink_secs = ctx.pick(120, 30);
    let exe = std::env::current_exe().expect("the stress binary knows its own path");
    let children: Vec<_> = SocketKind::ALL
        .into_iter()
        .map(|kind| {
            let child = Command::new(&exe)
                .args([PEER_CHILD, kind.name(), &cases.to_string()])
                .env("EDDY_PEER_SHRINK_SECS", shrink_secs.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn();
            (kind, child)
        })
        .collect();
    let mut max_idle_us = 0u64;
    for (kind, child) in children {
        let out = match child.and_then(|c| c.wait_with_output()) {
            Ok(out) => out,
            Err(e) => {
                ctx.error(format!("{}: could not run: {e}", kind.name()));
                continue;
            }
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        let mut passed = 0;
        for line in stdout.lines().filter_map(|l| l.strip_prefix(RESULT)) {
            let f: Vec<&str> = line.split('\t').collect();
            let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            ctx.ops(num(3));
            max_idle_us = max_idle_us.max(num(4));
            passed += 1;
        }
        if !out.status.success() || passed != Flavour::BOTH.len() {
            ctx.error(format!(
                "{} ({:?}):\n{}",
                kind.name(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    ctx.note(format!(
        "{cases} cases per kind and flavour, 7 kinds; idle CPU at most {max_idle_us} µs per 200 ms"
    ));
}

/// The child's entry point: runs `KIND` on both flavours, `CASES` cases each.
pub(crate) fn child_main(args: &[String]) -> ExitCode {
    let (Some(kind), Some(cases)) = (
        args.first().and_then(|n| SocketKind::from_name(n)),
        args.get(1).and_then(|n| n.parse().ok()),
    ) else {
        eprintln!("eddy-stress: {PEER_CHILD} needs a socket kind and a case count");
        return ExitCode::from(2);
    };
    let mut ok = true;
    for flavour in Flavour::BOTH {
        match peers::run(kind, cases, flavour) {
            Ok(r) => println!(
                "{RESULT}\t{}\t{}\t{}\t{}\t{}",
                kind.name(),
                flavour.name(),
                r.cases,
                r.max_idle_cpu.as_micros(),
                r.bytes
            ),
            Err(failure) => {
                eprintln!("{failure}");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
