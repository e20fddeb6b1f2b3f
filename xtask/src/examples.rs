//! `cargo xtask examples`: every example of the eddy facade runs to completion, and the
//! echo server/client pair exchanges a bounded number of connections.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::step::{self, Failure, Result, cargo};

/// The concept examples, in the seed notes' order, then the tour that runs them all.
const EXAMPLES: &[&str] = &[
    "hello_sleep",
    "tasks",
    "cancel",
    "timeout",
    "future",
    "timed",
    "pitfalls",
    "manual_loop",
    "blocking",
    "debug_mode",
    "tour",
];

/// Connections the echo client opens at once against the echo server.
const ECHO_CONNECTIONS: &str = "1000";

pub(crate) fn run() -> Result {
    step::run(
        "examples: build",
        cargo().args(["build", "-p", "eddy", "--examples"]),
    )?;
    let dir = step::target_dir()?.join("debug").join("examples");
    for name in EXAMPLES {
        step::run(
            &format!("example {name}"),
            &mut Command::new(dir.join(name)),
        )?;
    }
    echo_pair(&dir, &[])?;
    // The multi-thread runtime serves the same load on two workers.
    echo_pair(&dir, &["--workers", "2"])
}

/// Starts `echo_server` on an ephemeral port, reads the address it prints, runs
/// `echo_client` against it, and waits for the server to exit after the last connection.
fn echo_pair(dir: &std::path::Path, server_args: &[&str]) -> Result {
    let name = &format!(
        "example echo_server{} + echo_client",
        server_args
            .iter()
            .map(|a| format!(" {a}"))
            .collect::<String>()
    );
    println!("\n==> [{name}] {ECHO_CONNECTIONS} connections over loopback");
    let bin = |n: &str| -> PathBuf { dir.join(n) };
    let mut server = Command::new(bin("echo_server"))
        .args(["--addr", "127.0.0.1:0", "--connections", ECHO_CONNECTIONS])
        .args(server_args)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::new(name, format!("could not start echo_server: {e}")))?;
    let mut lines = BufReader::new(server.stdout.take().expect("stdout is piped")).lines();
    let first = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    let Some(addr) = first.strip_prefix("listening on ") else {
        let _ = server.kill();
        return Err(Failure::new(
            name,
            format!("echo_server printed {first:?} instead of its address"),
        ));
    };
    let client = Command::new(bin("echo_client"))
        .args(["--addr", addr, "--connections", ECHO_CONNECTIONS])
        .status();
    let client_ok = client.as_ref().is_ok_and(|s| s.success());
    if !client_ok {
        let _ = server.kill();
    }
    for line in lines.map_while(|l| l.ok()) {
        println!("{line}");
    }
    let server = server
        .wait()
        .map_err(|e| Failure::new(name, format!("waiting for echo_server: {e}")))?;
    match (client_ok, server.success()) {
        (true, true) => {
            println!("<== [{name}] ok");
            Ok(())
        }
        _ => Err(Failure::new(
            name,
            format!("echo_client: {client:?}, echo_server: {server}"),
        )),
    }
}
