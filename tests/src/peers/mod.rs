//! The generative peer suite for eddy-net (docs/testing.md, "The peer suite"): a peer on a
//! plain blocking std thread performs a random sequence of actions on one end of a socket
//! — writes of 0 B to 1 MiB, `MSG_OOB`, `SCM_RIGHTS` with data, pauses, then
//! `shutdown(SHUT_WR)`, a reset, a close — while eddy reads the other end with a random mix
//! of its read API, and a model checks what arrives.
//!
//! Every case checks that
//! - every byte (or datagram) the kernel delivers arrives once and in order;
//! - no read stays pending while the kernel holds data for it: each read is bounded, and a
//!   read pending for a second while `poll` says the socket is readable fails the case as
//!   a stall;
//! - `read(&mut [])` returns `Ok(0)` at once (stream kinds);
//! - an idle wait of 200 ms (the peer paused, its end open) costs under 20 ms of CPU
//!   (`getrusage(RUSAGE_SELF)`, so run one kind per process);
//!
//! on the runtime flavour given. A failure is shrunk by proptest to a minimal case, which
//! the [`Failure`] prints with the seed that replays it (`EDDY_PEER_SEED`).
//!
//! Environment: `EDDY_PEER_SEED=N` fixes the seed; `EDDY_PEER_SKIP=a,b` turns off the
//! named checks or actions (`empty_read`, `iov_max`, `idle_cpu`, `unix_oob`), to look past a
//! known bug; `EDDY_PEER_SHRINK_SECS` bounds the shrinking (300 s by default).

mod actions;
mod checks;
mod eddy_side;
mod peer;

use std::cell::{Cell, RefCell};
use std::fmt;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

pub use actions::{Action, Case, End, ReadMode, ReadOp};

/// The socket types the suite drives.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SocketKind {
    /// TCP with `TCP_INQ`: accepted by an eddy listener, or connected by eddy.
    TcpInq,
    /// TCP without `TCP_INQ`: accepted through `TcpListener::from_std` from a listener
    /// whose handshake completed before eddy set the option (the set-up checks that eddy
    /// set it on the accepted socket), then with the option turned off, as on a kernel
    /// before 4.18.
    TcpNoInq,
    /// A Unix stream accepted by an eddy `UnixListener`.
    UnixStream,
    /// A std `UnixStream::pair` end wrapped with `UnixStream::from_std`.
    Socketpair,
    /// A std `UnixDatagram::pair` end wrapped with `UnixDatagram::from_std`.
    UnixDatagram,
    /// A connected UDP socket (`UdpSocket::from_std`).
    Udp,
    /// The read end of `std::io::pipe` in `Async<PipeReader>`.
    Pipe,
}

impl SocketKind {
    /// Every kind, in the order the suite runs them.
    pub const ALL: [SocketKind; 7] = [
        SocketKind::TcpInq,
        SocketKind::TcpNoInq,
        SocketKind::UnixStream,
        SocketKind::Socketpair,
        SocketKind::UnixDatagram,
        SocketKind::Udp,
        SocketKind::Pipe,
    ];

    /// The kind's name, as `from_name` takes it.
    pub fn name(self) -> &'static str {
        match self {
            SocketKind::TcpInq => "tcp_inq",
            SocketKind::TcpNoInq => "tcp_no_inq",
            SocketKind::UnixStream => "unix_stream",
            SocketKind::Socketpair => "socketpair",
            SocketKind::UnixDatagram => "unix_datagram",
            SocketKind::Udp => "udp",
            SocketKind::Pipe => "pipe",
        }
    }

    /// The kind called `name`.
    pub fn from_name(name: &str) -> Option<SocketKind> {
        SocketKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// A byte stream (as opposed to datagrams).
    pub fn is_stream(self) -> bool {
        !matches!(self, SocketKind::UnixDatagram | SocketKind::Udp)
    }
}

/// The two runtime flavours.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// `Builder::current_thread`.
    CurrentThread,
    /// `Builder::multi_thread` with two workers.
    MultiThread,
}

impl Flavour {
    /// Both flavours.
    pub const BOTH: [Flavour; 2] = [Flavour::CurrentThread, Flavour::MultiThread];

    /// `ct` or `mt`.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::CurrentThread => "ct",
            Flavour::MultiThread => "mt",
        }
    }

    fn runtime(self) -> std::io::Result<eddy::Runtime> {
        match self {
            Flavour::CurrentThread => eddy::Runtime::builder().current_thread().build(),
            Flavour::MultiThread => eddy::Runtime::builder()
                .multi_thread()
                .worker_threads(2)
                .build(),
        }
    }
}

/// What a passing run did.
#[derive(Clone, Debug)]
pub struct Report {
    /// The socket kind run.
    pub kind: SocketKind,
    /// The runtime flavour run.
    pub flavour: Flavour,
    /// The seed that replays the run (`EDDY_PEER_SEED`).
    pub seed: u64,
    /// Cases run, shrinking included (a pass has none).
    pub cases: u32,
    /// Bytes eddy read and the model checked.
    pub bytes: u64,
    /// Datagrams eddy read and the model checked.
    pub datagrams: u64,
    /// The most CPU one idle wait cost.
    pub max_idle_cpu: Duration,
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// A failed run: the check that failed on the minimal case proptest shrank it to.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The socket kind run.
    pub kind: SocketKind,
    /// The runtime flavour run.
    pub flavour: Flavour,
    /// The seed that replays the run (`EDDY_PEER_SEED`).
    pub seed: u64,
    /// The cases asked for (`EDDY_PEER_CASES`).
    pub cases: u32,
    /// What failed, on the minimal case.
    pub reason: String,
    /// The minimal case, `{:#?}`.
    pub case: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "peer suite, {} on the {} runtime: {}\nminimal failing case (shrunk): {}\n\
             replay: EDDY_PEER_SEED={} EDDY_PEER_CASES={} (same kind and flavour)",
            self.kind.name(),
            self.flavour.name(),
            self.reason,
            self.case,
            self.seed,
            self.cases
        )
    }
}

impl std::error::Error for Failure {}

/// `EDDY_PEER_CASES`, or `default`.
pub fn cases_from_env(default: u32) -> u32 {
    std::env::var("EDDY_PEER_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether `EDDY_PEER_SKIP` names `check`.
pub(crate) fn skipped(check: &str) -> bool {
    std::env::var("EDDY_PEER_SKIP").is_ok_and(|v| v.split(',').any(|c| c.trim() == check))
}

/// `EDDY_PEER_SEED`, or a fresh one.
fn seed() -> u64 {
    if let Some(seed) = std::env::var("EDDY_PEER_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return seed;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_nanos() as u64) ^ (u64::from(std::process::id()) << 40)
}

/// Runs `cases` generated cases of `kind` on `flavour`, shrinking the first failure.
///
/// # Errors
///
/// The [`Failure`] of the minimal failing case.
pub fn run(kind: SocketKind, cases: u32, flavour: Flavour) -> Result<Report, Failure> {
    let seed = seed();
    let mut key = [0u8; 32];
    for (i, chunk) in key.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(
            &(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_le_bytes(),
        );
    }
    let config = Config {
        cases,
        failure_persistence: None,
        // A stall costs seconds per run; bound the shrinking (EDDY_PEER_SHRINK_SECS).
        max_shrink_time: std::env::var("EDDY_PEER_SHRINK_SECS")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(300)
            .saturating_mul(1000),
        max_shrink_iters: 512,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key));
    let caps = actions::Caps {
        unix_oob: checks::unix_oob_supported() && !skipped("unix_oob"),
        iov_max: !skipped("iov_max"),
    };
    let started = Instant::now();
    let report = RefCell::new(Report {
        kind,
        flavour,
        seed,
        cases: 0,
        bytes: 0,
        datagrams: 0,
        max_idle_cpu: Duration::ZERO,
        elapsed: Duration::ZERO,
    });
    // Once a case has failed, proptest is shrinking: a failure that depends on timing may
    // pass one run of a smaller case and fail the next, so each candidate gets up to
    // SHRINK_TRIES runs before it counts as passing.
    let shrinking = Cell::new(false);
    let result = runner.run(&actions::case(kind, caps), |case| {
        let tries = if shrinking.get() { SHRINK_TRIES } else { 1 };
        let mut outcome = None;
        for _ in 0..tries {
            report.borrow_mut().cases += 1;
            match run_case(kind, flavour, &case) {
                Ok(o) => outcome = Some(o),
                Err(e) => {
                    shrinking.set(true);
                    return Err(TestCaseError::fail(e));
                }
            }
        }
        let outcome = outcome.expect("invariant: at least one try");
        let mut r = report.borrow_mut();
        r.bytes += outcome.bytes;
        r.datagrams += outcome.datagrams;
        r.max_idle_cpu = r.max_idle_cpu.max(outcome.idle_cpu);
        Ok(())
    });
    let mut report = report.into_inner();
    report.elapsed = started.elapsed();
    match result {
        Ok(()) => Ok(report),
        Err(TestError::Fail(reason, case)) => Err(Failure {
            kind,
            flavour,
            seed,
            cases,
            reason: reason.to_string(),
            case: format!("{case:#?}"),
        }),
        Err(TestError::Abort(reason)) => Err(Failure {
            kind,
            flavour,
            seed,
            cases,
            reason: format!("proptest gave up: {reason}"),
            case: String::new(),
        }),
    }
}

/// Runs of each smaller case while shrinking (see `run`).
const SHRINK_TRIES: u32 = 3;

/// How long the peer thread may take to report after eddy's side is done.
const PEER_JOIN: Duration = Duration::from_secs(30);

/// One case on a fresh runtime: eddy's side as a spawned task, the peer on its own thread.
fn run_case(kind: SocketKind, flavour: Flavour, case: &Case) -> Result<eddy_side::Outcome, String> {
    let rt = flavour
        .runtime()
        .map_err(|e| format!("building the runtime: {e}"))?;
    let link = Arc::new(peer::Link::default());
    let (go_tx, go) = mpsc::channel();
    let (finish_tx, finish) = mpsc::channel();
    let (peer_tx, peer_rx) = mpsc::channel();
    let task_case = case.clone();
    let task_link = link.clone();
    let peer_case = case.clone();
    let eddy = rt.block_on(async move {
        let task = eddy::spawn(async move {
            let (sock, peer_fd) = eddy_side::connect(kind, &task_case)
                .await
                .map_err(|e| format!("set-up: {e}"))?;
            let peer_link = task_link.clone();
            std::thread::Builder::new()
                .name("peer".into())
                .spawn(move || {
                    let signals = peer::Signals { go, finish };
                    let _ =
                        peer_tx.send(peer::run(kind, peer_fd, &peer_case, &peer_link, &signals));
                })
                .map_err(|e| format!("starting the peer thread: {e}"))?;
            eddy_side::run(kind, sock, &task_case, &task_link, go_tx, finish_tx).await
        });
        task.await
    });
    let eddy = eddy.map_err(|e| format!("eddy's side panicked or was cancelled: {e}"))?;
    // eddy's side has dropped its socket, so a peer still writing fails at once.
    let peer = peer_rx.recv_timeout(PEER_JOIN);
    drop(rt);
    let outcome = eddy?;
    match peer {
        Ok(Ok(())) => Ok(outcome),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(format!(
            "the peer thread did not finish within {PEER_JOIN:?}"
        )),
    }
}
