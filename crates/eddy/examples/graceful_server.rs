//! A server that shuts down gracefully on SIGTERM, as a container's stop does: it stops
//! accepting, lets the requests in flight finish within a grace period, cancels the rest,
//! prints which requests it cancelled (by task id, name and spawn site), and exits 0.
//! Built on `CancellationToken` and `TaskTracker`; the server is `examples/graceful/mod.rs`
//! (docs/shutdown.md walks through it).
//!
//! One request per line: `SLEEP <ms>` answers `STARTED <ms>`, sleeps, then answers
//! `DONE <ms>`.
//!
//! ```text
//! cargo run -p eddy --example graceful_server -- --addr 127.0.0.1:7000 --grace-ms 2000
//! (echo 'SLEEP 500'; sleep 1) | nc 127.0.0.1 7000 &      # finishes within the grace
//! (echo 'SLEEP 60000'; sleep 99) | nc 127.0.0.1 7000 &   # is cancelled and reported
//! kill -TERM <pid>
//! ```
//!
//! Not in `cargo xtask examples` (it waits for a signal); the SIGTERM drain test in
//! `tests/it/shutdown.rs` runs the same server code on both runtime flavours.

#[path = "graceful/mod.rs"]
mod graceful;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{}", graceful::USAGE);
        return ExitCode::SUCCESS;
    }
    let config = match graceful::Config::from_args(args) {
        Ok(config) => config,
        Err(why) => {
            eprintln!("graceful_server: {why}\n{}", graceful::USAGE);
            return ExitCode::from(2);
        }
    };
    match graceful::run(&config) {
        Ok(_report) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("graceful_server: {e}");
            ExitCode::FAILURE
        }
    }
}
