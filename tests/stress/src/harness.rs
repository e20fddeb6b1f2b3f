//! What every scenario shares: its counters, the leak trackers, sizes, runtimes and helpers.
//!
//! A scenario runs in a child process of its own (see `child.rs`), so the trackers here are
//! plain process-wide counters: whatever is still counted when the scenario returns (after
//! it dropped its runtimes) was leaked.

use std::fmt::Display;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use eddy::Runtime;
use eddy::net::{TcpListener, TcpStream};

/// Which size a scenario runs at.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Size {
    /// The default: the counts the issue asks for.
    Full,
    /// `--quick`: the whole suite in about a minute.
    Quick,
}

/// One scenario's view of the run: its size and the counters that become its table row.
pub(crate) struct Ctx {
    pub(crate) name: &'static str,
    pub(crate) size: Size,
    /// `--seconds N`: how long the duration-bound scenarios (mixed_server, wrk) run.
    pub(crate) seconds: Option<u64>,
    ops: AtomicU64,
    errors: AtomicU64,
    lost: AtomicU64,
    notes: Mutex<Vec<String>>,
    skipped: AtomicBool,
    /// Fds the scenario opened for the rest of the process's life on purpose
    /// ([`Ctx::keep_fds`]), not counted as leaked.
    kept_fds: AtomicUsize,
}

impl Ctx {
    pub(crate) fn new(name: &'static str, size: Size, seconds: Option<u64>) -> Ctx {
        Ctx {
            name,
            size,
            seconds,
            ops: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            lost: AtomicU64::new(0),
            notes: Mutex::new(Vec::new()),
            skipped: AtomicBool::new(false),
            kept_fds: AtomicUsize::new(0),
        }
    }

    /// Runs `open`, which creates process-wide state that lives until the process exits
    /// (eddy's signal pipe, made with the first signal listener), and counts the fds it
    /// opened as kept, not leaked.
    pub(crate) fn keep_fds(&self, open: impl FnOnce()) {
        let before = open_fds();
        open();
        let kept = open_fds().saturating_sub(before);
        self.kept_fds.fetch_add(kept, Ordering::Relaxed);
        self.note(format!(
            "{kept} fds kept for the process's life (eddy's signal pipe)"
        ));
    }

    /// The fds counted by [`Ctx::keep_fds`].
    pub(crate) fn kept_fds(&self) -> usize {
        self.kept_fds.load(Ordering::Relaxed)
    }

    /// `full` at the default size, `quick` with `--quick`.
    pub(crate) fn pick(&self, full: usize, quick: usize) -> usize {
        match self.size {
            Size::Full => full,
            Size::Quick => quick,
        }
    }

    /// The run time of a duration-bound scenario: `--seconds`, or `full` / `quick` seconds.
    pub(crate) fn duration(&self, full: u64, quick: u64) -> Duration {
        let secs = self.seconds.unwrap_or(match self.size {
            Size::Full => full,
            Size::Quick => quick,
        });
        Duration::from_secs(secs)
    }

    /// Counts `n` completed operations (round trips, timers, tasks, signals...).
    pub(crate) fn ops(&self, n: u64) {
        self.ops.fetch_add(n, Ordering::Relaxed);
    }

    /// Records an outcome the scenario forbids; the first few are printed.
    pub(crate) fn error(&self, what: impl Display) {
        let n = self.errors.fetch_add(1, Ordering::Relaxed);
        if n < 10 {
            eprintln!("  [{}] ERROR: {what}", self.name);
        }
    }

    /// Records `n` units (bytes, wakes, tasks, timers) that went in and never came out.
    pub(crate) fn lose(&self, n: u64, what: impl Display) {
        if n > 0 {
            self.lost.fetch_add(n, Ordering::Relaxed);
            eprintln!("  [{}] LOST {n}: {what}", self.name);
        }
    }

    /// Adds a remark to the table row (counts used, rates measured, limits met).
    pub(crate) fn note(&self, note: impl Into<String>) {
        self.notes
            .lock()
            .expect("invariant: nothing panics while holding the notes")
            .push(note.into());
    }

    /// Marks the scenario skipped (a tool it needs is missing), with the reason.
    pub(crate) fn skip(&self, why: impl Into<String>) {
        self.skipped.store(true, Ordering::Relaxed);
        self.note(why);
    }

    pub(crate) fn is_skipped(&self) -> bool {
        self.skipped.load(Ordering::Relaxed)
    }

    pub(crate) fn counts(&self) -> (u64, u64, u64) {
        (
            self.ops.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
            self.lost.load(Ordering::Relaxed),
        )
    }

    pub(crate) fn notes(&self) -> String {
        self.notes
            .lock()
            .expect("invariant: nothing panics while holding the notes")
            .join("; ")
    }
}

/// Futures alive now: each scenario puts a [`Tracked`] inside every future it spawns.
static LIVE_FUTURES: AtomicUsize = AtomicUsize::new(0);
/// Blocking jobs submitted and not yet finished (see [`BlockingJob`]).
static OPEN_JOBS: AtomicUsize = AtomicUsize::new(0);

/// A drop guard that counts a spawned future alive until the runtime drops it.
pub(crate) struct Tracked(());

impl Tracked {
    pub(crate) fn new() -> Tracked {
        LIVE_FUTURES.fetch_add(1, Ordering::Relaxed);
        Tracked(())
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        LIVE_FUTURES.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts a blocking job open from submission until [`BlockingJob::finish`] runs inside it.
/// A job the pool drops unrun is counted as leaked: "all blocking jobs finished" is the
/// claim.
pub(crate) struct BlockingJob(());

impl BlockingJob {
    pub(crate) fn submit() -> BlockingJob {
        OPEN_JOBS.fetch_add(1, Ordering::Relaxed);
        BlockingJob(())
    }

    pub(crate) fn finish(self) {
        OPEN_JOBS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What is still counted: futures never dropped, blocking jobs never finished.
pub(crate) fn live_futures() -> usize {
    LIVE_FUTURES.load(Ordering::Relaxed)
}

pub(crate) fn open_jobs() -> usize {
    OPEN_JOBS.load(Ordering::Relaxed)
}

/// Open file descriptors of this process, from /proc/self/fd (the directory's own fd, open
/// while it is read, is not counted).
pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count().saturating_sub(1))
}

/// Raises the soft RLIMIT_NOFILE to the hard limit and returns the hard limit.
pub(crate) fn raise_nofile() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    set_nofile(lim.rlim_max)?;
    Ok(lim.rlim_max)
}

/// Sets the soft RLIMIT_NOFILE, keeping the hard limit.
pub(crate) fn set_nofile(soft: u64) -> io::Result<()> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    lim.rlim_cur = soft.min(lim.rlim_max);
    // SAFETY: `lim` is a valid rlimit read from getrlimit, with the soft limit at most the
    // hard one.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// CPU time (user + system) this process has used, over all its threads.
pub(crate) fn cpu_time() -> Duration {
    // SAFETY: rusage is plain old data; all-zero is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The two runtimes every scenario can use.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Multi-thread, two workers: as many as this machine has cores.
    Multi,
    /// One thread, the one calling `block_on`.
    Current,
}

impl Flavor {
    pub(crate) const BOTH: [Flavor; 2] = [Flavor::Multi, Flavor::Current];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Flavor::Multi => "mt",
            Flavor::Current => "ct",
        }
    }

    pub(crate) fn builder(self) -> eddy::Builder {
        match self {
            Flavor::Multi => Runtime::builder().multi_thread().worker_threads(2),
            Flavor::Current => Runtime::builder().current_thread(),
        }
    }

    pub(crate) fn runtime(self) -> Runtime {
        self.builder()
            .build()
            .expect("building a runtime (out of file descriptors?)")
    }
}

/// A small, fast, seedable generator (xorshift64*): the suite needs reproducible noise,
/// not cryptography, and no dependency for it.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        // Scramble the seed so that neighbouring seeds give unrelated streams; never zero.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub(crate) fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// Fisher–Yates.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for k in (1..items.len()).rev() {
            items.swap(k, self.below(k as u64 + 1) as usize);
        }
    }

    pub(crate) fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

/// FNV-1a, the checksum each round trip compares.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Accepts connections on `listener` for ever, echoing each one in its own task until the
/// peer closes. Errors on a connection end that connection and are handed to `on_error`,
/// which decides whether the scenario expected them.
pub(crate) async fn serve_echo(listener: TcpListener, on_error: fn(io::Error) -> bool) {
    let _t = Tracked::new();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                if !on_error(e) {
                    return;
                }
                continue;
            }
        };
        eddy::spawn(async move {
            let _t = Tracked::new();
            if let Err(e) = echo(stream).await {
                on_error(e);
            }
        });
    }
}

/// Echoes everything `stream` sends until it closes its side.
pub(crate) async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = vec![0; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// One checksummed round trip of `len` random bytes: `Ok(true)` when the echo matched.
pub(crate) async fn round_trip(
    stream: &mut TcpStream,
    rng: &mut Rng,
    len: usize,
) -> io::Result<bool> {
    let mut out = vec![0; len];
    rng.fill(&mut out);
    stream.write_all(&out).await?;
    let mut back = vec![0; len];
    stream.read_exact(&mut back).await?;
    Ok(checksum(&out) == checksum(&back))
}

/// Proves the runtime still serves: a fresh echo server and one 4 KiB round trip through
/// it, bounded so a wedged runtime fails instead of hanging.
pub(crate) fn prove_alive(ctx: &Ctx, rt: &Runtime, after: &str) {
    let result = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = eddy::spawn(serve_echo(listener, |_| true));
        let exchange = async {
            let mut stream = TcpStream::connect(addr).await?;
            round_trip(&mut stream, &mut Rng::new(7), 4096).await
        };
        let matched = eddy::timeout(Duration::from_secs(10), exchange).await;
        server.abort();
        let _ = server.await;
        matched.map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no echo in 10 s"))?
    });
    match result {
        Ok(true) => ctx.ops(1),
        Ok(false) => ctx.error(format!("the round trip after {after} came back corrupted")),
        Err(e) => ctx.error(format!("no round trip after {after}: {e}")),
    }
}

/// The first few errors an I/O task met that the scenario did not expect.
pub(crate) fn unexpected(e: io::Error) -> bool {
    if UNEXPECTED.fetch_add(1, Ordering::Relaxed) < 10 {
        eprintln!("  unexpected I/O error: {e}");
    }
    true
}

/// I/O errors handed to [`unexpected`]; the child adds them to the scenario's errors.
pub(crate) static UNEXPECTED: AtomicU64 = AtomicU64::new(0);

/// A task's failure as an I/O error, for tasks whose results are judged as `io::Result`s.
pub(crate) fn join_error(e: eddy::task::JoinError) -> io::Error {
    io::Error::other(e.to_string())
}
