//! `cargo xtask examples`: every example of the eddy facade runs to completion, the
//! echo server/client pair exchanges a bounded number of connections, and eddy-compat's
//! HTTP servers (hyper, axum) answer `curl` and shut down gracefully.

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
    "deadlock",
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
    echo_pair(&dir, &["--workers", "2"])?;
    http_examples(&dir)
}

/// eddy-compat's servers, each on one thread and on two workers, asked by `curl`: each
/// `(path, curl options, what the answer must contain)` in turn, after which the server
/// must shut itself down (`--requests`) and exit 0.
fn http_examples(dir: &std::path::Path) -> Result {
    step::run(
        "examples: build eddy-compat",
        cargo().args(["build", "-p", "eddy-compat", "--examples"]),
    )?;
    if !step::ensure_package("examples", "curl", "--version", "curl") {
        return Err(Failure::new(
            "examples",
            "curl is missing and could not be installed",
        ));
    }
    let hyper: &[(&str, &[&str], &str)] = &[
        ("/", &[], "hello"),
        ("/", &["--data", "echo me"], "echo me"),
        ("/", &["--http2-prior-knowledge"], "hello"),
    ];
    let axum: &[(&str, &[&str], &str)] = &[
        ("/", &[], "hello from eddy"),
        ("/users/7", &[], r#"{"id":7,"name":"user 7"}"#),
        (
            "/orders",
            &[
                "-H",
                "content-type: application/json",
                "--data",
                r#"{"item":"tea","quantity":3}"#,
            ],
            r#""total_cents":750"#,
        ),
    ];
    for workers in [&[][..], &["--workers", "2"][..]] {
        http_example(&dir.join("hyper_server"), workers, hyper)?;
        http_example(&dir.join("axum_app"), workers, axum)?;
    }
    Ok(())
}

fn http_example(
    bin: &std::path::Path,
    args: &[&str],
    requests: &[(&str, &[&str], &str)],
) -> Result {
    let name = &format!(
        "example {}{}",
        bin.file_name().unwrap_or_default().to_string_lossy(),
        args.iter().map(|a| format!(" {a}")).collect::<String>()
    );
    println!("\n==> [{name}] {} requests from curl", requests.len());
    let requests_arg = requests.len().to_string();
    let (mut server, lines, addr) = start_server(name, bin, &["--requests", &requests_arg], args)?;
    for (path, options, want) in requests {
        let out = Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "20"])
            .args(*options)
            .arg(format!("http://{addr}{path}"))
            .output();
        let body = match &out {
            Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
            _ => {
                let _ = server.kill();
                return Err(Failure::new(
                    name,
                    format!("curl {path} {options:?}: {out:?}"),
                ));
            }
        };
        if !body.contains(want) {
            let _ = server.kill();
            return Err(Failure::new(
                name,
                format!("{path}: {body:?} lacks {want:?}"),
            ));
        }
    }
    for line in lines.map_while(|l| l.ok()) {
        println!("{line}");
    }
    let status = server
        .wait()
        .map_err(|e| Failure::new(name, format!("waiting for the server: {e}")))?;
    if status.success() {
        println!("<== [{name}] ok");
        Ok(())
    } else {
        Err(Failure::new(name, format!("exited with {status}")))
    }
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
    let (mut server, lines, addr) = start_server(
        name,
        &bin("echo_server"),
        &["--connections", ECHO_CONNECTIONS],
        server_args,
    )?;
    let client = Command::new(bin("echo_client"))
        .args(["--addr", &addr, "--connections", ECHO_CONNECTIONS])
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

/// The lines a server prints after its address.
type Lines = std::io::Lines<BufReader<std::process::ChildStdout>>;

/// Starts `bin` on an ephemeral loopback port with `args` and `more`, and reads the address
/// it prints first (`listening on ADDR`).
fn start_server(
    name: &str,
    bin: &std::path::Path,
    args: &[&str],
    more: &[&str],
) -> Result<(std::process::Child, Lines, String)> {
    let mut server = Command::new(bin)
        .args(["--addr", "127.0.0.1:0"])
        .args(args)
        .args(more)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::new(name, format!("could not start {}: {e}", bin.display())))?;
    let mut lines = BufReader::new(server.stdout.take().expect("stdout is piped")).lines();
    let first = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    match first.strip_prefix("listening on ") {
        Some(addr) => Ok((server, lines, addr.to_owned())),
        None => {
            let _ = server.kill();
            Err(Failure::new(
                name,
                format!("{} printed {first:?} instead of its address", bin.display()),
            ))
        }
    }
}
