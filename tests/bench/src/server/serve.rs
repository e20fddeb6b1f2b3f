//! The server process of one run, both ends: the child (`eddy-bench --serve KIND VARIANT
//! ADDR`) and the parent's handle on it, [`ServerProcess`].
//!
//! The child binds ADDR, prints `listening ADDR` with the port it got, and serves until
//! its stdin closes. A control thread reads its stdin: each `cpu` line is answered with
//! `cpu USER_US SYSTEM_US`, the process's own `getrusage(RUSAGE_SELF)` (all its threads,
//! exited ones included); end of input exits the process. So the parent can take the
//! server's CPU time over exactly the client's run, and a parent that dies, however it
//! dies, leaves no server behind: its end of the pipe closes with it.

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use super::{Input, Kind, Service, Session};
use crate::net::Net;
use crate::rt::{Eddy, Rt, Tokio};

/// The hidden flag the parent re-executes the bench binary with.
pub(crate) const SERVE_FLAG: &str = "--serve";

/// How a server is built: one task per connection on a runtime (0 workers: the
/// current-thread flavour), or one epoll loop with no runtime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Variant {
    Eddy(usize),
    Tokio(usize),
    Raw,
}

impl Variant {
    /// The name on the `--serve` command line: `eddy-0`, `tokio-2`, `raw`.
    fn arg(self) -> String {
        match self {
            Variant::Eddy(w) => format!("eddy-{w}"),
            Variant::Tokio(w) => format!("tokio-{w}"),
            Variant::Raw => "raw".into(),
        }
    }

    fn parse(s: &str) -> Option<Variant> {
        if s == "raw" {
            return Some(Variant::Raw);
        }
        let (rt, workers) = s.split_once('-')?;
        let workers = workers.parse().ok()?;
        match rt {
            "eddy" => Some(Variant::Eddy(workers)),
            "tokio" => Some(Variant::Tokio(workers)),
            _ => None,
        }
    }
}

/// The child's entry point: `KIND VARIANT ADDR`.
pub(crate) fn child(args: &[String]) -> ExitCode {
    let parsed = match args {
        [kind, variant, addr] => Kind::parse(kind)
            .zip(Variant::parse(variant))
            .zip(addr.parse::<SocketAddr>().ok()),
        _ => None,
    };
    let Some(((kind, variant), addr)) = parsed else {
        eprintln!(
            "eddy-bench: {SERVE_FLAG} needs KIND (http, resp) VARIANT (eddy-N, tokio-N, \
             raw) ADDR, got {args:?}"
        );
        return ExitCode::from(2);
    };
    std::thread::spawn(control);
    let service = Service::new(kind);
    let result = match variant {
        Variant::Eddy(workers) => Eddy::run(workers, accept_loop::<Eddy>(addr, service)),
        Variant::Tokio(workers) => Tokio::run(workers, accept_loop::<Tokio>(addr, service)),
        Variant::Raw => std::net::TcpListener::bind(addr).and_then(|l| {
            announce(l.local_addr()?);
            super::raw::serve(l, &service)
        }),
    };
    // Serving ends only on an error: the control thread exits the process otherwise.
    eprintln!("eddy-bench: {variant:?} {kind:?} server failed: {result:?}");
    ExitCode::FAILURE
}

/// Tells the parent where to connect.
fn announce(addr: SocketAddr) {
    println!("listening {addr}");
}

/// Accepts connections for ever, one task each.
async fn accept_loop<R: Net + 'static>(addr: SocketAddr, service: Service) -> io::Result<()> {
    let (listener, local) = R::bind(addr).await?;
    announce(local);
    loop {
        match R::accept(&listener).await {
            Ok(stream) => R::spawn_detached(connection::<R>(stream, service.session())),
            // A connection that failed before it was accepted (reset, out of fds for a
            // moment) is the client's loss, not the server's end.
            Err(e) => eprintln!("eddy-bench: accept failed: {e}"),
        }
    }
}

/// One connection: read what is there, answer every complete request in it with one
/// write, until the client closes or the session ends the connection.
async fn connection<R: Net + 'static>(mut stream: R::Stream, mut session: Session) {
    let mut input = Input::new();
    let mut out = Vec::new();
    loop {
        match R::read(&mut stream, input.spare()).await {
            // End of stream, or a reset: wrk and redis-benchmark end that way.
            Ok(0) | Err(_) => return,
            Ok(n) => input.filled(n),
        }
        let served = session.serve(input.data(), &mut out);
        input.consume(served.consumed);
        if !out.is_empty() {
            if R::write_all(&mut stream, &out).await.is_err() {
                return;
            }
            out.clear();
        }
        if served.close {
            return;
        }
    }
}

/// The control thread: answers `cpu`, exits the process at end of input.
fn control() {
    let stdin = io::stdin();
    for line in stdin.lock().lines() {
        match line.as_deref().map(str::trim) {
            Ok("cpu") => {
                let cpu = CpuTime::of_this_process();
                println!("cpu {} {}", cpu.user.as_micros(), cpu.system.as_micros());
            }
            Ok(other) => eprintln!("eddy-bench: server: unknown control line {other:?}"),
            Err(_) => break,
        }
    }
    std::process::exit(0);
}

/// A server process's CPU time: in its own code and the libraries' (user) and in the
/// kernel on its behalf (system: the socket calls, the waits, the wakes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CpuTime {
    pub(crate) user: Duration,
    pub(crate) system: Duration,
}

impl CpuTime {
    /// This process's CPU time so far, all threads together.
    fn of_this_process() -> CpuTime {
        // SAFETY: all-zero bytes are a valid `rusage` (integers and `timeval`s only).
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `usage` is a valid, writable `rusage`; RUSAGE_SELF is a valid `who`.
        let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        assert_eq!(
            rc, 0,
            "getrusage(RUSAGE_SELF) cannot fail with valid arguments"
        );
        let tv = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        CpuTime {
            user: tv(usage.ru_utime),
            system: tv(usage.ru_stime),
        }
    }

    /// The CPU time spent from `earlier` to `self`.
    pub(crate) fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user.saturating_sub(earlier.user),
            system: self.system.saturating_sub(earlier.system),
        }
    }
}

/// The parent's handle on a running server process; dropping it stops the process and
/// reaps it, whatever path the run took.
pub(crate) struct ServerProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    addr: SocketAddr,
    name: String,
}

impl ServerProcess {
    /// Starts a `variant` server of `kind` on an ephemeral loopback port and waits until
    /// it listens.
    pub(crate) fn start(kind: Kind, variant: Variant) -> Result<ServerProcess, String> {
        let name = format!("{} {} server", variant.arg(), kind.arg());
        let exe = std::env::current_exe().map_err(|e| format!("finding the bench: {e}"))?;
        let mut child = Command::new(exe)
            .args([SERVE_FLAG, kind.arg(), &variant.arg(), "127.0.0.1:0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting the {name}: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        // From here on, `Drop` stops the child on every path.
        let mut server = ServerProcess {
            child,
            stdin,
            stdout,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            name,
        };
        let line = server.line()?;
        server.addr = line
            .strip_prefix("listening ")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("the {} said {line:?}, not its address", server.name))?;
        Ok(server)
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's CPU time so far: user and system, each over all its threads.
    pub(crate) fn cpu_time(&mut self) -> Result<CpuTime, String> {
        let asked = self
            .stdin
            .as_mut()
            .expect("stdin is open until stop")
            .write_all(b"cpu\n");
        asked.map_err(|e| format!("the {} stopped listening: {e}", self.name))?;
        let line = self.line()?;
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("cpu"), Some(user), Some(system)) => {
                let us = |w: &str| w.parse::<u64>().map(Duration::from_micros).ok();
                us(user)
                    .zip(us(system))
                    .map(|(user, system)| CpuTime { user, system })
                    .ok_or_else(|| format!("the {} said {line:?}", self.name))
            }
            _ => Err(format!("the {} said {line:?}, not its CPU time", self.name)),
        }
    }

    /// Stops the server, and says whether it was still healthy: a server that had
    /// already died (a panic, an accept loop that ended) fails the run.
    pub(crate) fn stop(mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("the {} exited during the run: {status}", self.name)),
            Err(e) => Err(format!("checking on the {}: {e}", self.name)),
        }
        // Dropping `self` closes stdin and reaps the process.
    }

    /// The next line the child prints; its end of output is an error naming its status.
    fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(n) if n > 0 => Ok(line.trim_end().to_string()),
            Ok(_) => {
                let status = self.child.wait().map(|s| s.to_string());
                Err(format!(
                    "the {} exited: {}",
                    self.name,
                    status.unwrap_or_default()
                ))
            }
            Err(e) => Err(format!("reading from the {}: {e}", self.name)),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // End of input asks the child to exit; one that does not within a second (a
        // runtime wedged with the control thread's exit) is killed.
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => break,
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
