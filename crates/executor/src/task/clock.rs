//! The coarse clock behind task ages: cheap enough to read on every spawn.
//!
//! On Linux it is `CLOCK_MONOTONIC_COARSE` (a vDSO read of the last timer tick, several
//! times cheaper than `Instant::now`, see docs/benchmarks.md "Measurements behind code
//! comments"; its resolution is one kernel tick, 1–4 ms); elsewhere, and under Miri and loom, it is
//! `Instant` measured from a process-wide origin. Only differences of two readings mean
//! anything.

/// The coarse clock in milliseconds, truncated to 32 bits: the clock wait records carry
/// (`eddy_wake::wait::set_clock_ms`), and what a dump compares them with.
pub fn wait_clock_ms() -> u32 {
    (coarse_now_ns() / 1_000_000) as u32
}

/// Nanoseconds on the coarse clock.
#[cfg(all(target_os = "linux", not(miri), not(eddy_loom)))]
pub(crate) fn coarse_now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC_COARSE exists on every
    // Linux eddy supports (2.6.32+), so the call cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// Nanoseconds on the coarse clock.
#[cfg(not(all(target_os = "linux", not(miri), not(eddy_loom))))]
pub(crate) fn coarse_now_ns() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
}
