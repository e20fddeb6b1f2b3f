//! Deterministic tests: virtual time, seeded scheduling, and a seed sweep that finds
//! ordering bugs and says how to replay them.
//!
//! [`check`] runs a test body on a fresh current-thread runtime per seed, with virtual time
//! ([`Builder::start_paused`](crate::Builder::start_paused)) and seeded scheduling
//! ([`Builder::seed`](crate::Builder::seed)), for 100 seeds. Each seed is another legal
//! order in which runnable tasks run, so a body that holds a race fails under some seed;
//! the failure names the seed and the command that replays it. With `EDDY_SEED=n` set,
//! only seed `n` runs.
//!
//! ```should_panic
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
//!
//! // Two tasks add one to a counter; one of them reads, yields, then writes: a
//! // check-then-act race that spawn order happens to hide.
//! eddy::testing::check(|| async {
//!     let counter = Arc::new(AtomicU32::new(0));
//!     let c = Arc::clone(&counter);
//!     let careless = eddy::spawn(async move {
//!         let seen = c.load(SeqCst);
//!         eddy::yield_now().await;
//!         c.store(seen + 1, SeqCst);
//!     });
//!     let c = Arc::clone(&counter);
//!     let careful = eddy::spawn(async move { c.fetch_add(1, SeqCst); });
//!     careless.await.unwrap();
//!     careful.await.unwrap();
//!     assert_eq!(counter.load(SeqCst), 2, "an update was lost");
//! });
//! // panics: "an update was lost ... eddy::testing: failed with seed 1 ... EDDY_SEED=1 ..."
//! ```
//!
//! What is and is not deterministic: the order of polls, the virtual clock and every timer
//! depend only on the seed and the program. Threads outside the runtime, blocking jobs and
//! real I/O run in real time, and where their results land in the order is up to them.

use std::any::Any;
use std::future::Future;
use std::io;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::Runtime;
use crate::runtime::builder::SEED_VAR;

/// The seeds [`check`] tries.
pub const DEFAULT_SEEDS: Range<u64> = 0..100;

/// A current-thread runtime with virtual time and scheduling seeded with `seed`.
///
/// # Errors
///
/// As for [`Builder::build`](crate::Builder::build).
pub fn runtime(seed: u64) -> io::Result<Runtime> {
    Runtime::builder()
        .current_thread()
        .start_paused(true)
        .seed(seed)
        .build()
}

/// Runs `future` to completion on [`runtime(seed)`](runtime): one deterministic run, for
/// replaying a seed by hand.
///
/// # Panics
///
/// If the runtime cannot be built, or if `future` panics.
#[track_caller]
pub fn run<F: Future>(seed: u64, future: F) -> F::Output {
    let rt = match runtime(seed) {
        Ok(rt) => rt,
        Err(e) => panic!("eddy::testing could not start a runtime: {e}"),
    };
    rt.block_on(future)
}

/// Runs `body` under each seed of [`DEFAULT_SEEDS`] (0..100), each on a fresh
/// [`runtime`], stopping at the first seed under which it panics: that panic is raised
/// again with the seed and the command that replays it appended. With `EDDY_SEED` set,
/// runs that seed only.
///
/// # Panics
///
/// When `body` panics under some seed.
#[track_caller]
pub fn check<F, Fut>(body: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    check_seeds(DEFAULT_SEEDS, body);
}

/// [`check`] over the seeds `seeds`.
///
/// # Panics
///
/// When `body` panics under some seed, or when `EDDY_SEED` is set to something that is not
/// a number.
#[track_caller]
pub fn check_seeds<F, Fut>(seeds: Range<u64>, body: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let (seeds, replaying) = match std::env::var(SEED_VAR) {
        Ok(value) => match value.trim().parse::<u64>() {
            Ok(seed) => (seed..seed.saturating_add(1), true),
            Err(_) => panic!("{SEED_VAR}={value:?} is not a seed (a number 0 to 2^64-1)"),
        },
        Err(_) => (seeds, false),
    };
    let first = seeds.start;
    for seed in seeds.clone() {
        let outcome = catch_unwind(AssertUnwindSafe(|| run(seed, body())));
        if let Err(payload) = outcome {
            let report = failure_report(seed, first, &seeds, replaying);
            // Said on stderr too: a test harness shows it even if the message is cut.
            eprintln!("{report}");
            let message = panic_message(&*payload);
            match message {
                Some(message) => panic!("{message}\n\n{report}"),
                None => resume_unwind(payload),
            }
        }
    }
}

/// What a failed sweep says: the seed, how many passed, and how to run that seed alone.
fn failure_report(seed: u64, first: u64, seeds: &Range<u64>, replaying: bool) -> String {
    let test = std::thread::current()
        .name()
        .filter(|name| *name != "main")
        .map(str::to_owned);
    let command = match &test {
        Some(name) => format!("{SEED_VAR}={seed} cargo test -- --exact {name}"),
        None => format!("{SEED_VAR}={seed} cargo test <this test>"),
    };
    if replaying {
        return format!("eddy::testing: failed with seed {seed} ({SEED_VAR} replay)");
    }
    format!(
        "eddy::testing: failed with seed {seed} (seeds {first}..{seed} passed; {} of {} \
         tried)\nreplay it alone: {command}\nor in code: eddy::testing::run({seed}, body())",
        seed - first + 1,
        seeds.end - seeds.start,
    )
}

fn panic_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
}
