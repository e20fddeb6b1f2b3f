//! Wait records for socket operations (eddy-wake's `wait`): a task whose socket operation
//! returns `Pending` records the operation, its fd and the `.await`'s location, so a task
//! dump can say "waits on TcpStream::read fd 12 (127.0.0.1:5000 → 127.0.0.1:41234)".
//!
//! Each public `async` operation is a `#[track_caller]` function that wraps its body in
//! [`on`] with a static [`WaitOp`] (from [`fd_op!`](fd_op)); the `poll_*` forms record
//! through [`pending`]. A future polled outside an eddy scheduler records nothing.

use std::future::Future;
use std::os::fd::RawFd;
use std::panic::Location;
use std::task::Poll;

pub(crate) use eddy_wake::wait::{On, WaitKind, WaitOp};

/// `&'static WaitOp` for an fd operation named `$name` (`"TcpStream::read"`).
macro_rules! fd_op {
    ($name:expr) => {{
        static OP: $crate::wait::WaitOp =
            $crate::wait::WaitOp::new($crate::wait::WaitKind::Fd, $name);
        &OP
    }};
}
pub(crate) use fd_op;

/// `future`, recording `op` on `fd` at `site` whenever it returns `Pending`.
#[inline]
pub(crate) fn on<F: Future>(
    op: &'static WaitOp,
    fd: RawFd,
    site: &'static Location<'static>,
    future: F,
) -> On<F> {
    eddy_wake::wait::on(op, fd as u64, site, future)
}

/// `poll`, having recorded `op` on `fd` at `site` if it is `Pending`.
#[inline]
pub(crate) fn pending<T>(
    poll: Poll<T>,
    op: &'static WaitOp,
    fd: RawFd,
    site: &'static Location<'static>,
) -> Poll<T> {
    eddy_wake::wait::pending(poll, op, fd as u64, site)
}

/// Inside a `#[track_caller]` function: `future`, recording the fd operation `$name` on
/// `$fd` at the function's caller whenever it returns `Pending`.
macro_rules! waits {
    ($name:expr, $fd:expr, $future:expr) => {
        $crate::wait::on(
            $crate::wait::fd_op!($name),
            $fd,
            ::std::panic::Location::caller(),
            $future,
        )
    };
}
pub(crate) use waits;
