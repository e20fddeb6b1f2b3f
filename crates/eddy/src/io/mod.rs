//! The process's own stdin, stdout and stderr as async streams: asyncio's
//! `loop.connect_read_pipe(..., sys.stdin)`.
//!
//! ```no_run
//! // An async `tr a-z A-Z`: stdin to stdout, uppercased, without blocking a worker.
//! eddy::run(async {
//!     let (mut stdin, mut stdout) = (eddy::io::stdin()?, eddy::io::stdout()?);
//!     let mut buf = [0u8; 4096];
//!     loop {
//!         let n = stdin.read(&mut buf).await?;
//!         if n == 0 {
//!             break;
//!         }
//!         stdout.write_all(&buf[..n].to_ascii_uppercase()).await?;
//!     }
//!     stdout.flush().await
//! })?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Readiness where the fd has it, the blocking pool where it does not
//!
//! What fd 0, 1 or 2 is depends on how the program was started, so each stream picks its
//! mode when it is made ([`Stdin::mode`]):
//!
//! - **A pipe or a terminal** (and on Linux only): the fd is reopened through
//!   `/proc/self/fd/N`, which gives this process a file description of its own, and that
//!   one is made non-blocking and registered with the reactor: [`Mode::Readiness`].
//!   Setting `O_NONBLOCK` on fd 0 itself would change the description the shell and every
//!   other process on the pipe share, and leave them with a non-blocking terminal that
//!   fails reads with `EAGAIN` after this program exits.
//! - **Anything else** — a regular file (`prog < input.txt`), `/dev/null`, a socket, or any
//!   fd on macOS, FreeBSD and NetBSD: reads and writes run on the blocking pool, one at a time, on a
//!   duplicate of the fd: [`Mode::BlockingPool`]. A regular file is never "not ready", so
//!   there is nothing to wait for; the pool only keeps a slow disk off the workers.
//!
//! Both modes behave the same to the caller. In [`Mode::BlockingPool`] a write returns once
//! its bytes are copied (at most 64 KiB at a time) and handed to the pool, and its error, if
//! any, comes back from the next write or from [`flush`](Stdout::flush): flush before
//! exiting, as with a `BufWriter`.
//!
//! Each call of [`stdin`], [`stdout`] or [`stderr`] makes a new stream on the same fd; use
//! one per fd at a time, or their reads interleave unpredictably (as two `File`s would).

mod blocking;

use std::fs::File;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use eddy_net::Async;

use blocking::Blocking;

/// How a stdio stream does its I/O (see the [module docs](self)).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A private non-blocking file description on the reactor: a pipe or a terminal.
    Readiness,
    /// Blocking reads or writes on the blocking pool: a regular file, `/dev/null`, a
    /// socket, or any fd where the first mode is not available.
    BlockingPool,
}

/// One stdio fd, in either mode.
#[derive(Debug)]
enum Stream {
    Readiness(Async<File>),
    Blocking(Blocking),
}

impl Stream {
    /// Opens fd `fd` (0, 1 or 2) for reading (`write` false) or writing.
    fn open(fd: RawFd, write: bool) -> io::Result<Stream> {
        // SAFETY: 0, 1 and 2 are only borrowed for fstat and dup, while this call runs.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let kind = file_kind(borrowed)?;
        if matches!(kind, Kind::PipeOrTerminal)
            && let Some(private) = reopen(fd, write)
        {
            // A character device the reactor cannot wait on (`/dev/null` is one: epoll
            // refuses it) falls through to the pool.
            match Async::new(private) {
                Ok(io) => return Ok(Stream::Readiness(io)),
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => {}
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Stream::Blocking(Blocking::new(File::from(
            borrowed.try_clone_to_owned()?,
        ))))
    }

    fn mode(&self) -> Mode {
        match self {
            Stream::Readiness(_) => Mode::Readiness,
            Stream::Blocking(_) => Mode::BlockingPool,
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        match self {
            Stream::Readiness(io) => io.poll_read_with_mut(cx, |f| f.read(buf)),
            Stream::Blocking(b) => b.poll_read(cx, buf),
        }
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        match self {
            Stream::Readiness(io) => io.poll_write_with_mut(cx, |f| f.write(buf)),
            Stream::Blocking(b) => b.poll_write(cx, buf),
        }
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Stream::Readiness(_) => Poll::Ready(Ok(())),
            Stream::Blocking(b) => b.poll_flush(cx),
        }
    }
}

enum Kind {
    PipeOrTerminal,
    Other,
}

fn file_kind(fd: BorrowedFd<'_>) -> io::Result<Kind> {
    // SAFETY: an all-zero stat is a valid value of the plain C struct; fstat fills it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat writes only into `st`; a closed fd is reported as EBADF.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } == -1 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EBADF) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "fd {} is closed: the program was started without it",
                    fd.as_raw_fd()
                ),
            ));
        }
        return Err(err);
    }
    Ok(match st.st_mode & libc::S_IFMT {
        libc::S_IFIFO | libc::S_IFCHR => Kind::PipeOrTerminal,
        _ => Kind::Other,
    })
}

/// A new file description for the pipe or terminal behind `fd`, non-blocking and
/// close-on-exec; `None` where that is not possible (no `/proc`, not Linux, a pipe whose
/// other end is gone), so the caller uses the pool.
fn reopen(fd: RawFd, write: bool) -> Option<File> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let path = std::ffi::CString::new(format!("/proc/self/fd/{fd}")).ok()?;
    let access = if write {
        libc::O_WRONLY
    } else {
        libc::O_RDONLY
    };
    // SAFETY: a valid NUL-terminated path and flags; open returns a new fd or -1.
    let new = unsafe {
        libc::open(
            path.as_ptr(),
            access | libc::O_NONBLOCK | libc::O_CLOEXEC | libc::O_NOCTTY,
        )
    };
    if new == -1 {
        return None;
    }
    // SAFETY: the fd was just returned by open and is owned by nobody else.
    Some(File::from(unsafe { OwnedFd::from_raw_fd(new) }))
}

/// Writes a stdio type: the struct, its constructor function, `mode`, and `Debug`.
macro_rules! stdio_type {
    ($(#[$doc:meta])* $name:ident, $(#[$fn_doc:meta])* $ctor:ident, $fd:expr, $write:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name {
            stream: Stream,
        }

        $(#[$fn_doc])*
        ///
        /// # Errors
        ///
        /// [`InvalidInput`](io::ErrorKind::InvalidInput) if the fd is closed (the program
        /// was started without it); the system's error from `fstat`, `dup` or registering.
        ///
        /// # Panics
        ///
        /// Outside a runtime, when the fd is a pipe or terminal (its reactor is needed);
        /// the message says how to enter one.
        pub fn $ctor() -> io::Result<$name> {
            Ok($name {
                stream: Stream::open($fd, $write)?,
            })
        }

        impl $name {
            /// Whether this stream waits on the reactor or runs on the blocking pool.
            pub fn mode(&self) -> Mode {
                self.stream.mode()
            }
        }
    };
}

stdio_type! {
    /// The process's stdin, read asynchronously ([`stdin`]). Implements
    /// `futures_io::AsyncRead`.
    Stdin,
    /// The process's stdin (fd 0) as an async reader.
    stdin, 0, false
}

stdio_type! {
    /// The process's stdout, written asynchronously ([`stdout`]). Not line-buffered and
    /// not shared with `println!`'s buffer: mixing the two can reorder output. Implements
    /// `futures_io::AsyncWrite`.
    Stdout,
    /// The process's stdout (fd 1) as an async writer.
    stdout, 1, true
}

stdio_type! {
    /// The process's stderr, written asynchronously ([`stderr`]). Implements
    /// `futures_io::AsyncWrite`.
    Stderr,
    /// The process's stderr (fd 2) as an async writer.
    stderr, 2, true
}

impl Stdin {
    /// Reads into `buf`, waiting for input. `Ok(0)` is end-of-file (the pipe's writer
    /// closed it, Ctrl-D on a terminal, the end of a file), or an empty `buf`.
    ///
    /// # Errors
    ///
    /// The system's error from `read`; an error if the runtime has shut down.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.stream.poll_read(cx, buf)).await
    }

    /// Reads until end-of-file, appending to `buf`; returns how many bytes it read.
    ///
    /// # Errors
    ///
    /// As for [`read`](Self::read); what was read before the error stays in `buf`.
    pub async fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        crate::process::read_to_end(self, buf).await
    }
}

impl crate::process::PipeRead for Stdin {
    fn poll_read_pipe(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.stream.poll_read(cx, buf)
    }
}

impl futures_io::AsyncRead for Stdin {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().stream.poll_read(cx, buf)
    }
}

/// Writes the write methods and the `AsyncWrite` impl of `Stdout` and `Stderr`.
macro_rules! writer_methods {
    ($($name:ident),+) => {$(
        impl $name {
            /// Writes some of `buf`, waiting until the fd can take it.
            ///
            /// # Errors
            ///
            /// [`BrokenPipe`](io::ErrorKind::BrokenPipe) when the reader is gone; the
            /// system's error from `write`, or in the blocking-pool mode that of an earlier
            /// write; an error if the runtime has shut down.
            pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                poll_fn(|cx| self.stream.poll_write(cx, buf)).await
            }

            /// Writes all of `buf`.
            ///
            /// # Errors
            ///
            /// As for [`write`](Self::write).
            pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
                while !buf.is_empty() {
                    let n = self.write(buf).await?;
                    buf = &buf[n..];
                }
                Ok(())
            }

            /// Waits until every write so far has reached the fd, and reports the first
            /// error among them (only the blocking-pool mode has any to wait for).
            ///
            /// # Errors
            ///
            /// The error of a write that failed since the last flush.
            pub async fn flush(&mut self) -> io::Result<()> {
                poll_fn(|cx| self.stream.poll_flush(cx)).await
            }
        }

        impl futures_io::AsyncWrite for $name {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().stream.poll_write(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().stream.poll_flush(cx)
            }

            /// Flushes; the fd itself stays open (it is the process's).
            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().stream.poll_flush(cx)
            }
        }
    )+};
}

writer_methods!(Stdout, Stderr);
