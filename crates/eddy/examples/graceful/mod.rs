//! The graceful server itself, shared by `examples/graceful_server.rs` and the SIGTERM
//! drain test (`tests/it/shutdown.rs`), which runs this very code in a child process.
//!
//! The protocol is one request per line: `SLEEP <ms>` is answered `STARTED <ms>` at once,
//! then `DONE <ms>` once the server has slept that long (a stand-in for real work that
//! takes time); anything else gets `ERR <why>`. A connection serves requests until the
//! client closes it or the server shuts down.
//!
//! Shutdown, on SIGTERM:
//! 1. The signal task cancels the server's [`CancellationToken`].
//! 2. The accept loop sees it and drops the listener: new connections are refused.
//! 3. Each connection sees it between requests and closes; one in the middle of a request
//!    finishes that request first.
//! 4. [`TaskTracker::shutdown`] gives the requests in flight the grace period, cancels
//!    those still running at its end (their connections close with no answer), and
//!    reports them; the server prints the report and returns.

use std::io;
use std::time::Duration;

use eddy::net::{TcpListener, TcpStream};
use eddy::signal::{SignalKind, signal};
use eddy::sync::CancellationToken;
use eddy::task::{ShutdownReport, TaskTracker};

/// How the server runs; see [`Config::from_args`] for the flags.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// Where to listen (`127.0.0.1:0`: a free port, printed at start).
    pub(crate) addr: String,
    /// How long requests in flight at SIGTERM may take to finish.
    pub(crate) grace: Duration,
    /// A two-worker multi-thread runtime instead of a current-thread one.
    pub(crate) multi_thread: bool,
}

/// The flags, for `--help` and errors.
#[allow(dead_code)] // The drain test does not print it.
pub(crate) const USAGE: &str =
    "usage: graceful_server [--addr HOST:PORT] [--grace-ms MS] [--multi-thread]";

impl Config {
    /// Parses `--addr HOST:PORT` (default `127.0.0.1:7000`), `--grace-ms MS` (default
    /// 5000) and `--multi-thread`.
    ///
    /// # Errors
    ///
    /// A message naming the flag that is unknown, lacks its value or has a bad one.
    pub(crate) fn from_args(args: impl IntoIterator<Item = String>) -> Result<Config, String> {
        let mut config = Config {
            addr: "127.0.0.1:7000".to_owned(),
            grace: Duration::from_secs(5),
            multi_thread: false,
        };
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--multi-thread" => config.multi_thread = true,
                "--addr" => config.addr = args.next().ok_or("--addr needs HOST:PORT")?,
                "--grace-ms" => {
                    let ms = args
                        .next()
                        .ok_or("--grace-ms needs a number of milliseconds")?;
                    let ms: u64 = ms.parse().map_err(|e| format!("--grace-ms {ms:?}: {e}"))?;
                    config.grace = Duration::from_millis(ms);
                }
                other => return Err(format!("unknown flag {other:?}")),
            }
        }
        Ok(config)
    }
}

/// Builds the runtime `config` asks for and serves until SIGTERM; returns the shutdown's
/// report once every connection is gone.
///
/// # Errors
///
/// Building the runtime, installing the SIGTERM handler, or binding the listener failed.
pub(crate) fn run(config: &Config) -> io::Result<ShutdownReport> {
    let runtime = if config.multi_thread {
        eddy::Runtime::builder()
            .multi_thread()
            .worker_threads(2)
            .build()?
    } else {
        eddy::Runtime::builder().current_thread().build()?
    };
    runtime.block_on(serve(config))
}

async fn serve(config: &Config) -> io::Result<ShutdownReport> {
    // Listening for SIGTERM starts before the address is printed, so a SIGTERM sent as
    // soon as a client sees the address is not missed.
    let mut terminate = signal(SignalKind::terminate())?;
    let listener = TcpListener::bind(config.addr.as_str()).await?;
    println!("listening on {}", listener.local_addr()?);

    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let on_signal = shutdown.clone();
    // Not tracked: it is not work to drain, and it ends with the runtime.
    let signal_task = eddy::spawn(async move {
        terminate.recv().await;
        on_signal.cancel();
    });

    while let Some(accepted) = shutdown.run_until_cancelled(listener.accept()).await {
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            // A failed accept (no descriptors left, a connection reset before it was
            // accepted) is the client's or the moment's problem, not a reason to stop.
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let token = shutdown.child_token();
        tracker.spawn_named(&format!("conn {peer}"), connection(stream, token));
    }
    // Closing the listener is what makes new connections fail from now on.
    drop(listener);
    signal_task.abort();
    println!(
        "SIGTERM: stopped accepting; {} connections open, grace period {:?}",
        tracker.len(),
        config.grace
    );
    let report = tracker.shutdown(config.grace).await;
    println!("{report}");
    Ok(report)
}

/// Serves one connection's requests until the client closes it or `token` is cancelled
/// (checked between requests only: a request in hand runs to the end, or until the
/// tracker cancels it).
async fn connection(mut stream: TcpStream, token: CancellationToken) {
    let mut buffer = Vec::new();
    loop {
        let Some(line) = next_line(&mut stream, &mut buffer, &token).await else {
            return;
        };
        let reply = match parse(&line) {
            Ok(ms) => {
                if stream
                    .write_all(format!("STARTED {ms}\n").as_bytes())
                    .await
                    .is_err()
                {
                    return;
                }
                eddy::sleep(Duration::from_millis(ms)).await;
                format!("DONE {ms}\n")
            }
            Err(why) => format!("ERR {why}\n"),
        };
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The next request line, without its newline; `None` at end of stream, on an error or
/// once `token` is cancelled while no full line is buffered.
async fn next_line(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
    token: &CancellationToken,
) -> Option<String> {
    let mut chunk = [0u8; 512];
    loop {
        if let Some(end) = buffer.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            return Some(String::from_utf8_lossy(&line[..end]).trim().to_owned());
        }
        if buffer.len() > 4096 {
            return None; // No request is this long: a confused client.
        }
        match token.run_until_cancelled(stream.read(&mut chunk)).await? {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// `SLEEP <ms>` → the milliseconds.
fn parse(line: &str) -> Result<u64, String> {
    let ms = line
        .strip_prefix("SLEEP ")
        .ok_or_else(|| format!("expected `SLEEP <ms>`, got {line:?}"))?;
    ms.trim().parse().map_err(|e| format!("SLEEP {ms:?}: {e}"))
}
