//! The child's piped stdin, stdout and stderr, as async streams on the reactor.

use std::future::{Future, poll_fn};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::panic::Location;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use eddy_net::Async;
use eddy_wake::wait::{self, WaitKind, WaitOp};

/// A pipe this module reads from: the poll behind `read`, `read_to_end` and `AsyncRead`.
pub(crate) trait PipeRead {
    fn poll_read_pipe(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;
}

/// Reads `pipe` to end-of-file, appending to `buf`; returns how many bytes it appended.
pub(crate) async fn read_to_end(pipe: &mut impl PipeRead, buf: &mut Vec<u8>) -> io::Result<usize> {
    let start = buf.len();
    loop {
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(8192);
        }
        let filled = buf.len();
        // Read into the spare capacity, zeroed first, at most a pipe's worth (64 KiB) at a
        // time: the fill then costs nothing next to the system call, and keeps this free
        // of `unsafe`; zeroing all of a grown buffer's spare on every read would not.
        let room = (buf.capacity() - filled).min(64 * 1024);
        buf.resize(filled + room, 0);
        let read = poll_fn(|cx| pipe.poll_read_pipe(cx, &mut buf[filled..])).await;
        match read {
            Ok(0) => {
                buf.truncate(filled);
                return Ok(filled - start);
            }
            Ok(n) => buf.truncate(filled + n),
            Err(e) => {
                buf.truncate(filled);
                return Err(e);
            }
        }
    }
}

/// Hands a pipe back as a blocking fd for another process's stdio (a pipeline), off the
/// reactor and out of non-blocking mode (the next process expects blocking stdio).
fn into_stdio<T: AsFd + Into<OwnedFd>>(pipe: Async<T>) -> io::Result<Stdio> {
    let fd: OwnedFd = pipe.into_inner()?.into();
    set_blocking(fd.as_raw_fd())?;
    Ok(Stdio::from(fd))
}

fn set_blocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL on an fd this module owns reads its status flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: F_SETFL with the flags just read, less O_NONBLOCK, changes only the mode.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Writes the items every pipe type has: construction, fd access, `Debug`, conversion to
/// [`Stdio`] for the next command of a pipeline.
macro_rules! pipe_type {
    ($(#[$doc:meta])* $name:ident($std:ty)) => {
        $(#[$doc])*
        pub struct $name {
            pipe: Async<$std>,
        }

        impl $name {
            pub(crate) fn new(pipe: $std, reactor: &eddy_net::Handle) -> io::Result<$name> {
                Ok($name {
                    pipe: Async::with_handle(pipe, reactor)?,
                })
            }

            /// Takes the pipe off the reactor and back to blocking mode, as a std
            /// [`Stdio`]: the stdin, stdout or stderr of another command (a pipeline).
            ///
            /// # Errors
            ///
            /// The system's error from deregistering or from `fcntl`.
            pub fn into_stdio(self) -> io::Result<Stdio> {
                into_stdio(self.pipe)
            }
        }

        impl AsFd for $name {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.pipe.as_fd()
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.pipe.as_raw_fd()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("fd", &self.as_raw_fd()).finish()
            }
        }
    };
}

/// Writes a readable pipe type: `read`, `read_to_end`, `read_to_string`, `AsyncRead`.
macro_rules! read_pipe {
    ($(#[$doc:meta])* $name:ident($std:ty)) => {
        pipe_type!($(#[$doc])* $name($std));

        impl PipeRead for $name {
            fn poll_read_pipe(
                &mut self,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                if buf.is_empty() {
                    return Poll::Ready(Ok(0));
                }
                self.pipe.poll_read_with_mut(cx, |pipe| pipe.read(buf))
            }
        }

        impl $name {
            /// What a task waiting to read this pipe records (`"ChildStdout::read"`).
            fn read_op() -> &'static WaitOp {
                static OP: WaitOp = WaitOp::new(WaitKind::Fd, concat!(stringify!($name), "::read"));
                &OP
            }

            /// Reads into `buf`, waiting until the child wrote something or closed the
            /// pipe. `Ok(0)` is end-of-file (the child closed it, or exited), or an empty
            /// `buf`.
            ///
            /// # Errors
            ///
            /// The system's error from `read`, or an error if the runtime has shut down.
            #[track_caller]
            pub fn read<'a>(
                &'a mut self,
                buf: &'a mut [u8],
            ) -> impl Future<Output = io::Result<usize>> + 'a {
                let (site, fd) = (Location::caller(), self.as_raw_fd() as u64);
                poll_fn(move |cx| wait::pending(self.poll_read_pipe(cx, buf), Self::read_op(), fd, site))
            }

            /// Reads until end-of-file, appending to `buf`; returns how many bytes it read.
            ///
            /// # Errors
            ///
            /// As for [`read`](Self::read); what was read before the error stays in `buf`.
            #[track_caller]
            pub fn read_to_end<'a>(
                &'a mut self,
                buf: &'a mut Vec<u8>,
            ) -> impl Future<Output = io::Result<usize>> + 'a {
                let (site, fd) = (Location::caller(), self.as_raw_fd() as u64);
                wait::on(Self::read_op(), fd, site, read_to_end(self, buf))
            }

            /// Reads until end-of-file, appending to `buf`, which must be UTF-8.
            ///
            /// # Errors
            ///
            /// As for [`read`](Self::read); [`InvalidData`](io::ErrorKind::InvalidData) if
            /// what was read is not UTF-8 (then `buf` is unchanged).
            #[track_caller]
            pub fn read_to_string<'a>(
                &'a mut self,
                buf: &'a mut String,
            ) -> impl Future<Output = io::Result<usize>> + 'a {
                let (site, fd) = (Location::caller(), self.as_raw_fd() as u64);
                wait::on(Self::read_op(), fd, site, async move {
                    let mut bytes = Vec::new();
                    let n = read_to_end(self, &mut bytes).await?;
                    let text = String::from_utf8(bytes).map_err(|e| {
                        io::Error::new(io::ErrorKind::InvalidData, format!("the child wrote {e}"))
                    })?;
                    buf.push_str(&text);
                    Ok(n)
                })
            }
        }

        impl futures_io::AsyncRead for $name {
            #[track_caller]
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let (site, fd) = (Location::caller(), self.as_raw_fd() as u64);
                wait::pending(self.get_mut().poll_read_pipe(cx, buf), Self::read_op(), fd, site)
            }
        }
    };
}

read_pipe! {
    /// The child's stdout, read asynchronously ([`Child::stdout`](super::Child::stdout)).
    /// Implements `futures_io::AsyncRead`.
    ChildStdout(std::process::ChildStdout)
}

read_pipe! {
    /// The child's stderr, read asynchronously ([`Child::stderr`](super::Child::stderr)).
    /// Implements `futures_io::AsyncRead`.
    ChildStderr(std::process::ChildStderr)
}

pipe_type! {
    /// The child's stdin, written asynchronously ([`Child::stdin`](super::Child::stdin)).
    /// Drop it to close the pipe: the child then reads end-of-file. Implements
    /// `futures_io::AsyncWrite`.
    ChildStdin(std::process::ChildStdin)
}

/// What a task waiting for room in the child's stdin records.
static WRITE: WaitOp = WaitOp::new(WaitKind::Fd, "ChildStdin::write");

impl ChildStdin {
    /// Writes some of `buf`, waiting until the pipe has room.
    ///
    /// # Errors
    ///
    /// [`BrokenPipe`](io::ErrorKind::BrokenPipe) once the child closed its end (or exited);
    /// the system's error from `write`; an error if the runtime has shut down.
    #[track_caller]
    pub fn write<'a>(&'a mut self, buf: &'a [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        let (site, fd) = (Location::caller(), self.as_raw_fd() as u64);
        poll_fn(move |cx| wait::pending(self.poll_write_pipe(cx, buf), &WRITE, fd, site))
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    ///
    /// As for [`write`](Self::write).
    #[track_caller]
    pub fn write_all<'a>(
        &'a mut self,
        mut buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a {
        let (site, fd) = (Location::caller(), self.as_raw_fd() as u64);
        wait::on(&WRITE, fd, site, async move {
            while !buf.is_empty() {
                let n = poll_fn(|cx| self.poll_write_pipe(cx, buf)).await?;
                buf = &buf[n..];
            }
            Ok(())
        })
    }

    fn poll_write_pipe(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.pipe.poll_write_with_mut(cx, |pipe| pipe.write(buf))
    }
}

impl futures_io::AsyncWrite for ChildStdin {
    #[track_caller]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let (site, fd) = (Location::caller(), self.as_raw_fd() as u64);
        wait::pending(self.get_mut().poll_write_pipe(cx, buf), &WRITE, fd, site)
    }

    /// Nothing to flush: every write went to the kernel.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Nothing to do: a pipe closes when the `ChildStdin` is dropped.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
