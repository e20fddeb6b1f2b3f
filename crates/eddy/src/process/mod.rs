//! Subprocesses: asyncio's `create_subprocess_exec`, with the child's pipes as eddy streams.
//!
//! [`Command`] is [`std::process::Command`] with three differences: [`spawn`](Command::spawn)
//! returns a [`Child`] whose piped stdin, stdout and stderr are async
//! ([`ChildStdin`], [`ChildStdout`], [`ChildStderr`]); [`Child::wait`] is a future that never
//! blocks a worker; and [`kill_on_drop`](Command::kill_on_drop) ties the child's life to its
//! handle.
//!
//! ```
//! use std::process::Stdio;
//!
//! eddy::run(async {
//!     // asyncio: proc = await create_subprocess_exec("tr", "a-z", "A-Z", stdin=PIPE, stdout=PIPE)
//!     let mut child = eddy::process::Command::new("tr")
//!         .args(["a-z", "A-Z"])
//!         .stdin(Stdio::piped())
//!         .stdout(Stdio::piped())
//!         .spawn()?;
//!     let mut stdin = child.stdin.take().unwrap();
//!     stdin.write_all(b"hello").await?;
//!     drop(stdin); // end-of-file for tr
//!     let output = child.wait_with_output().await?;
//!     assert!(output.status.success());
//!     assert_eq!(output.stdout, b"HELLO");
//!     std::io::Result::Ok(())
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # How a child's exit is noticed
//!
//! eddy waits for *its own* children only, by process id, and never calls `waitpid(-1)`: a
//! library that reaps its own children in the same process is never robbed of a status.
//!
//! - **Linux 5.3 and later**: a pidfd (`pidfd_open`), registered with the reactor like a
//!   socket. It becomes readable when the child exits; the status is then collected with
//!   `waitpid` on that pid.
//! - **macOS, FreeBSD and NetBSD**: a kqueue of the child's own with an `EVFILT_PROC`/`NOTE_EXIT`
//!   filter, registered with the reactor the same way (a kqueue fd is pollable).
//! - **Otherwise** (an older kernel, a seccomp filter or an emulator that refuses
//!   `pidfd_open`): `SIGCHLD`, through eddy's process-wide [signal](crate::signal) handler.
//!   Each waiting child checks its own pid with `waitpid(pid, WNOHANG)` on every `SIGCHLD`.
//!   Setting `EDDY_PROCESS_WATCH=sigchld` in the environment forces this path (for testing).
//!
//! # No zombies
//!
//! A [`Child`] dropped before its exit status was collected, with or without a runtime, is
//! handed to a process-wide reaper: its status is collected with `waitpid(pid, WNOHANG)` on
//! every `SIGCHLD` from then on, so the exited child does not stay a zombie. A child that
//! never exits (and was not [killed on drop](Command::kill_on_drop)) keeps running, as with
//! std; it is reaped when it does exit.

mod orphans;
mod stdio;
mod watch;

use std::ffi::OsStr;
use std::future::{Future, poll_fn};
use std::io;
use std::panic::Location;
use std::path::Path;
use std::pin::pin;
use std::process::{ExitStatus, Output, Stdio};
use std::task::{Context, Poll};

pub use stdio::{ChildStderr, ChildStdin, ChildStdout};
pub(crate) use stdio::{PipeRead, read_to_end};

use eddy_wake::wait::{self, WaitKind, WaitOp};
use watch::ExitWatch;

/// A task awaiting a child's exit waits on its pid, for task dumps.
static WAIT: WaitOp = WaitOp::new(WaitKind::Process, "Child::wait");
static WAIT_WITH_OUTPUT: WaitOp = WaitOp::new(WaitKind::Process, "Child::wait_with_output");

/// A process to start: [`std::process::Command`]'s builder, whose [`spawn`](Command::spawn)
/// gives an async [`Child`].
///
/// Methods not repeated here (`pre_exec`, `process_group`, `uid`, ...) are reached through
/// [`as_std_mut`](Command::as_std_mut).
#[derive(Debug)]
pub struct Command {
    std: std::process::Command,
    kill_on_drop: bool,
    /// Whether `stdin`/`stdout`/`stderr` were set, so [`output`](Command::output) can give
    /// std's defaults (stdin empty, stdout and stderr captured) only where they were not.
    stdio_set: [bool; 3],
}

impl Command {
    /// A command that runs `program` (looked up in `PATH` when it has no `/`), with no
    /// arguments, the parent's environment and working directory, and inherited stdio.
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from(std::process::Command::new(program))
    }

    /// Adds one argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds several arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, value);
        self
    }

    /// Sets several environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (plus what `env` adds afterwards).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// The child's stdin: [`Stdio::piped`] gives [`Child::stdin`], an async writer.
    pub fn stdin(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdin(cfg);
        self.stdio_set[0] = true;
        self
    }

    /// The child's stdout: [`Stdio::piped`] gives [`Child::stdout`], an async reader.
    pub fn stdout(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stdout(cfg);
        self.stdio_set[1] = true;
        self
    }

    /// The child's stderr: [`Stdio::piped`] gives [`Child::stderr`], an async reader.
    pub fn stderr(&mut self, cfg: impl Into<Stdio>) -> &mut Command {
        self.std.stderr(cfg);
        self.stdio_set[2] = true;
        self
    }

    /// Whether dropping the [`Child`] before it exited kills it (`SIGKILL`); off by
    /// default, as in std, where a dropped child keeps running. Either way, the child is
    /// reaped once it exits (see [No zombies](self#no-zombies)).
    pub fn kill_on_drop(&mut self, kill: bool) -> &mut Command {
        self.kill_on_drop = kill;
        self
    }

    /// The program this command runs.
    pub fn get_program(&self) -> &OsStr {
        self.std.get_program()
    }

    /// The std command inside.
    pub fn as_std(&self) -> &std::process::Command {
        &self.std
    }

    /// The std command inside, for the builder methods not repeated here
    /// (`std::os::unix::process::CommandExt`'s `pre_exec`, `process_group`, `uid`, ...).
    /// Stdio set through it is not seen by [`output`](Command::output)'s defaults.
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        &mut self.std
    }

    /// Starts the child. Its piped stdio and its exit are registered with the reactor of
    /// the runtime this is called in.
    ///
    /// # Errors
    ///
    /// std's error from starting the process ([`NotFound`](io::ErrorKind::NotFound) for a
    /// program that does not exist, [`PermissionDenied`](io::ErrorKind::PermissionDenied)
    /// for one that is not executable), or the system's error from registering its pipes or
    /// its exit watch. On an error after the process started, the process is killed and
    /// reaped: nothing is left running.
    ///
    /// # Panics
    ///
    /// Outside a runtime (the message says to use `eddy::run` or `Handle::enter`); checked
    /// before anything is started.
    #[track_caller]
    pub fn spawn(&mut self) -> io::Result<Child> {
        let reactor = match eddy_net::Handle::current() {
            Ok(reactor) => reactor,
            Err(_) => panic!(
                "`eddy::process::Command::spawn` was called outside an eddy runtime: the \
                 child's pipes and exit need a reactor. Spawn it inside `eddy::run(async \
                 {{ ... }})` or `Runtime::block_on`, or enter a runtime with \
                 `eddy::Handle::enter()`"
            ),
        };
        let std_child = self.std.spawn()?;
        Child::new(std_child, &reactor, self.kill_on_drop)
    }

    /// Runs the child to its exit and returns its status. Stdio not set is inherited.
    ///
    /// # Errors
    ///
    /// As for [`spawn`](Command::spawn) and [`Child::wait`].
    ///
    /// # Panics
    ///
    /// Outside a runtime, as [`spawn`](Command::spawn).
    pub async fn status(&mut self) -> io::Result<ExitStatus> {
        let mut child = self.spawn()?;
        // Pipes set by the caller would only fill up unread: closed, as std's `status` does.
        drop((child.stdin.take(), child.stdout.take(), child.stderr.take()));
        child.wait().await
    }

    /// Runs the child to its exit and collects its stdout and stderr, as std's `output`:
    /// unless set otherwise, stdin is empty (`/dev/null`) and stdout and stderr are piped.
    ///
    /// # Errors
    ///
    /// As for [`spawn`](Command::spawn) and [`Child::wait_with_output`].
    ///
    /// # Panics
    ///
    /// Outside a runtime, as [`spawn`](Command::spawn).
    pub async fn output(&mut self) -> io::Result<Output> {
        let [stdin, stdout, stderr] = self.stdio_set;
        if !stdin {
            self.std.stdin(Stdio::null());
        }
        if !stdout {
            self.std.stdout(Stdio::piped());
        }
        if !stderr {
            self.std.stderr(Stdio::piped());
        }
        let spawned = self.spawn();
        // Back to what the caller set, so the command can be reused as it was.
        if !stdin {
            self.std.stdin(Stdio::inherit());
        }
        if !stdout {
            self.std.stdout(Stdio::inherit());
        }
        if !stderr {
            self.std.stderr(Stdio::inherit());
        }
        spawned?.wait_with_output().await
    }
}

impl From<std::process::Command> for Command {
    /// Wraps a std command; stdio it already set counts as unset for
    /// [`output`](Command::output)'s defaults.
    fn from(std: std::process::Command) -> Command {
        Command {
            std,
            kill_on_drop: false,
            stdio_set: [false; 3],
        }
    }
}

/// A running (or exited) child process: asyncio's `Process`.
///
/// Dropping it does not wait for the process; the process is reaped once it exits, and
/// killed first if the command had [`kill_on_drop`](Command::kill_on_drop).
#[derive(Debug)]
pub struct Child {
    /// The child's stdin, when it was [`piped`](Stdio::piped). Drop it to close the pipe
    /// (the child reads end-of-file).
    pub stdin: Option<ChildStdin>,
    /// The child's stdout, when it was piped.
    pub stdout: Option<ChildStdout>,
    /// The child's stderr, when it was piped.
    pub stderr: Option<ChildStderr>,
    /// `None` only while being dropped, once handed to the reaper.
    inner: Option<std::process::Child>,
    exit: ExitWatch,
    kill_on_drop: bool,
}

impl Child {
    fn new(
        mut inner: std::process::Child,
        reactor: &eddy_net::Handle,
        kill_on_drop: bool,
    ) -> io::Result<Child> {
        let registered = (|| {
            let stdin = inner
                .stdin
                .take()
                .map(|s| ChildStdin::new(s, reactor))
                .transpose()?;
            let stdout = inner
                .stdout
                .take()
                .map(|s| ChildStdout::new(s, reactor))
                .transpose()?;
            let stderr = inner
                .stderr
                .take()
                .map(|s| ChildStderr::new(s, reactor))
                .transpose()?;
            let exit = ExitWatch::new(inner.id(), reactor)?;
            io::Result::Ok((stdin, stdout, stderr, exit))
        })();
        match registered {
            Ok((stdin, stdout, stderr, exit)) => Ok(Child {
                stdin,
                stdout,
                stderr,
                inner: Some(inner),
                exit,
                kill_on_drop,
            }),
            Err(e) => {
                // Nothing may be left running behind an error.
                let _ = inner.kill();
                orphans::adopt(inner);
                Err(e)
            }
        }
    }

    /// The process id. It stays the child's until its status is collected (by
    /// [`wait`](Child::wait), [`try_wait`](Child::try_wait) or the reaper); after that the
    /// system may give the number to another process.
    pub fn id(&self) -> u32 {
        self.std().id()
    }

    fn std(&self) -> &std::process::Child {
        self.inner
            .as_ref()
            .expect("invariant: `inner` is taken only in `drop`")
    }

    fn std_mut(&mut self) -> &mut std::process::Child {
        self.inner
            .as_mut()
            .expect("invariant: `inner` is taken only in `drop`")
    }

    /// Waits for the child to exit and returns its status: asyncio's `await proc.wait()`.
    /// Closes [`stdin`](Child::stdin) first, so a child that reads until end-of-file can
    /// finish.
    ///
    /// Cancel-safe: dropping the future loses nothing, and a later `wait` returns the same
    /// status. After the first success, returns the status at once.
    ///
    /// Do not wait while leaving a piped stdout or stderr unread: a child that fills the
    /// pipe blocks and never exits. [`wait_with_output`](Child::wait_with_output) reads both
    /// while it waits.
    ///
    /// # Errors
    ///
    /// The system's error from `waitpid`: [`ECHILD`](libc::ECHILD) if something else in the
    /// process reaped the child (a `waitpid(-1)` elsewhere, or `SIGCHLD` set to be ignored);
    /// an error if the runtime the child was spawned on has shut down.
    #[track_caller]
    pub fn wait(&mut self) -> impl Future<Output = io::Result<ExitStatus>> {
        let site = Location::caller();
        drop(self.stdin.take());
        poll_fn(move |cx| self.poll_wait_at(cx, &WAIT, site))
    }

    /// [`wait`](Child::wait) as a poll function (it does not close stdin).
    #[track_caller]
    pub fn poll_wait(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        self.poll_wait_at(cx, &WAIT, Location::caller())
    }

    /// [`poll_wait`](Child::poll_wait), recording `op` at `site` while the child runs.
    fn poll_wait_at(
        &mut self,
        cx: &mut Context<'_>,
        op: &'static WaitOp,
        site: &'static Location<'static>,
    ) -> Poll<io::Result<ExitStatus>> {
        let Child { inner, exit, .. } = self;
        let inner = inner
            .as_mut()
            .expect("invariant: `inner` is taken only in `drop`");
        let poll = exit.poll_exit(cx, inner);
        if poll.is_pending() {
            wait::record(op, u64::from(inner.id()), site);
        }
        poll
    }

    /// The exit status if the child has exited, without waiting; `Ok(None)` while it runs.
    ///
    /// # Errors
    ///
    /// As for [`wait`](Child::wait).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.std_mut().try_wait()
    }

    /// Sends `SIGKILL` and returns without waiting; does nothing if the child's status was
    /// already collected. Follow with [`wait`](Child::wait) to reap it (or drop the child:
    /// the reaper does).
    ///
    /// # Errors
    ///
    /// The system's error from `kill`.
    pub fn start_kill(&mut self) -> io::Result<()> {
        self.std_mut().kill()
    }

    /// Kills the child (`SIGKILL`) and waits for it to exit: asyncio's `proc.kill()` then
    /// `await proc.wait()`. Returns the status it died with; if it had already exited, the
    /// status it exited with.
    ///
    /// # Errors
    ///
    /// As for [`start_kill`](Child::start_kill) and [`wait`](Child::wait).
    #[track_caller]
    pub fn kill(&mut self) -> impl Future<Output = io::Result<ExitStatus>> {
        let site = Location::caller();
        async move {
            self.start_kill()?;
            poll_fn(|cx| self.poll_wait_at(cx, &WAIT, site)).await
        }
    }

    /// Sends `signal` to the child (`SIGTERM` to ask it to stop, for example): asyncio's
    /// `proc.send_signal(sig)`. Does nothing if the child's status was already collected,
    /// so a signal never reaches a process that reused the id.
    ///
    /// # Errors
    ///
    /// The system's error from `kill`.
    pub fn send_signal(&mut self, signal: crate::signal::SignalKind) -> io::Result<()> {
        if self.try_wait()?.is_some() {
            return Ok(());
        }
        let pid = libc::pid_t::try_from(self.id()).expect("invariant: a process id fits in pid_t");
        // SAFETY: kill takes a pid and a signal number and has no memory effects; the pid is
        // our own unreaped child, so it cannot name another process.
        if unsafe { libc::kill(pid, signal.as_raw()) } == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits for the child to exit while reading all of its piped stdout and stderr:
    /// asyncio's `await proc.communicate()` (without input: write to
    /// [`stdin`](Child::stdin) first, or it is closed at once). Streams that were not piped
    /// come back empty.
    ///
    /// # Errors
    ///
    /// The first error of reading either stream or of [`wait`](Child::wait).
    #[track_caller]
    pub fn wait_with_output(self) -> impl Future<Output = io::Result<Output>> {
        self.wait_with_output_at(Location::caller())
    }

    async fn wait_with_output_at(mut self, site: &'static Location<'static>) -> io::Result<Output> {
        drop(self.stdin.take());
        let mut stdout = self.stdout.take();
        let mut stderr = self.stderr.take();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let status = {
            let mut read_out = pin!(read_all(stdout.as_mut(), &mut out));
            let mut read_err = pin!(read_all(stderr.as_mut(), &mut err));
            let (mut out_done, mut err_done, mut status) = (false, false, None);
            poll_fn(|cx| {
                if !out_done && let Poll::Ready(r) = read_out.as_mut().poll(cx) {
                    r?;
                    out_done = true;
                }
                if !err_done && let Poll::Ready(r) = read_err.as_mut().poll(cx) {
                    r?;
                    err_done = true;
                }
                // Last, so its record (the child's pid) stands over the pipes'.
                if status.is_none()
                    && let Poll::Ready(s) = self.poll_wait_at(cx, &WAIT_WITH_OUTPUT, site)
                {
                    status = Some(s?);
                }
                match status {
                    Some(status) if out_done && err_done => Poll::Ready(io::Result::Ok(status)),
                    _ => Poll::Pending,
                }
            })
            .await?
        };
        Ok(Output {
            status,
            stdout: out,
            stderr: err,
        })
    }
}

/// Reads `stream` to its end into `buf`; nothing for a stream that was not piped.
async fn read_all(stream: Option<&mut impl stdio::PipeRead>, buf: &mut Vec<u8>) -> io::Result<()> {
    match stream {
        Some(stream) => stdio::read_to_end(stream, buf).await.map(drop),
        None => Ok(()),
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let Some(mut inner) = self.inner.take() else {
            return;
        };
        if let Ok(Some(_)) = inner.try_wait() {
            return;
        }
        if self.kill_on_drop {
            let _ = inner.kill();
        }
        orphans::adopt(inner);
    }
}
