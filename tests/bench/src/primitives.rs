//! The costs of the primitives the task workloads are built from, measured in the same run
//! so a task figure can be read against what the machine does underneath.

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

fn per_op(n: u64, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

/// ns per uncontended `fetch_add` (a `lock xadd` on x86).
pub(crate) fn atomic_rmw(n: u64) -> f64 {
    let a = AtomicU64::new(0);
    per_op(n, || {
        black_box(&a).fetch_add(1, Ordering::AcqRel);
    })
}

/// ns per `malloc(128)` + `free`.
pub(crate) fn malloc_free(n: u64) -> f64 {
    per_op(n, || {
        // SAFETY: malloc has no preconditions; the pointer it returns (or null) is passed
        // to free exactly once, as free requires.
        unsafe {
            let p = libc::malloc(black_box(128));
            libc::free(black_box(p));
        }
    })
}

/// ns per 8-byte `write` to an eventfd: the cost of waking a thread blocked in epoll.
pub(crate) fn eventfd_write(n: u64) -> f64 {
    // SAFETY: eventfd takes an initial value and flags; it returns a new fd or -1.
    let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    assert!(fd >= 0, "eventfd: {}", std::io::Error::last_os_error());
    let one = 1u64;
    let ns = per_op(n, || {
        // SAFETY: `fd` is the open eventfd above and `one` is 8 readable bytes. The counter
        // cannot overflow: n writes of 1 stay far below u64::MAX - 1.
        let r = unsafe { libc::write(fd, (&raw const one).cast(), 8) };
        black_box(r);
    });
    // SAFETY: `fd` is open and owned here, closed exactly once.
    unsafe { libc::close(fd) };
    ns
}

/// ns per `FUTEX_WAKE` on a word nobody waits on: the cost of unparking when no one sleeps.
pub(crate) fn futex_wake(n: u64) -> f64 {
    let word = AtomicU32::new(0);
    per_op(n, || {
        // SAFETY: FUTEX_WAKE reads nothing through the pointer but its address, which is a
        // live, aligned u32 for the whole call; the remaining arguments are ignored.
        let r = unsafe {
            libc::syscall(
                libc::SYS_futex,
                word.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
                0usize,
                0usize,
                0u32,
            )
        };
        black_box(r);
    })
}
