//! The `read_exact` / `write_all` loops, written once for every stream type and half.

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

/// Reads until `buf` is full, with `poll_read` as the stream's read.
pub(crate) async fn read_exact(
    mut poll_read: impl FnMut(&mut Context<'_>, &mut [u8]) -> Poll<io::Result<usize>>,
    mut buf: &mut [u8],
) -> io::Result<()> {
    while !buf.is_empty() {
        match poll_fn(|cx| poll_read(cx, buf)).await? {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the stream ended before the buffer was full",
                ));
            }
            n => buf = &mut buf[n..],
        }
    }
    Ok(())
}

/// Writes all of `buf`, with `poll_write` as the stream's write.
pub(crate) async fn write_all(
    mut poll_write: impl FnMut(&mut Context<'_>, &[u8]) -> Poll<io::Result<usize>>,
    mut buf: &[u8],
) -> io::Result<()> {
    while !buf.is_empty() {
        match poll_fn(|cx| poll_write(cx, buf)).await? {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the socket accepted no bytes",
                ));
            }
            n => buf = &buf[n..],
        }
    }
    Ok(())
}

/// Whether `bufs` has no room at all (no buffers, or only empty ones): a read into it
/// returns `Ok(0)` at once, as std's and futures-io's `read` promise, instead of waiting for
/// readiness it could not use.
pub(crate) fn is_empty(bufs: &[io::IoSliceMut<'_>]) -> bool {
    bufs.iter().all(|b| b.is_empty())
}
