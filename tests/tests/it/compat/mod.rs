//! Third-party code on eddy: runtime-agnostic libraries that only rely on the `Waker`
//! contract (tokio's `sync`, async-channel, async-lock, event-listener, futures), and
//! eddy's sockets through the `futures-io` traits.
//!
//! Every test runs once on a current-thread runtime and once on a multi-thread runtime of
//! two workers, under a deadline so a lost wake-up fails the test instead of hanging it.

mod channels;
mod combinators;
mod io;
mod tokio_sync;

use std::future::Future;
use std::time::Duration;

/// How many tasks a load test spawns: enough to overflow any small fast path, small enough
/// for a debug build on two cores.
pub(crate) const TASKS: usize = 2_000;

/// How long one runtime flavour may take before the test counts it as hung.
const DEADLINE: Duration = Duration::from_secs(20);

/// Runs `test` on a current-thread runtime, then on a multi-thread runtime of two workers.
pub(crate) fn each_runtime<F, Fut>(test: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let flavours = [
        ("current-thread", eddy::Runtime::builder().current_thread()),
        (
            "multi-thread(2)",
            eddy::Runtime::builder().multi_thread().worker_threads(2),
        ),
    ];
    for (name, builder) in flavours {
        let rt = builder.build().expect("runtime");
        // Spawned, so the test body runs as a task (the multi-thread runtime may move it
        // between workers), not inside `block_on`'s own poll loop.
        let outcome = rt.block_on(async {
            let task = eddy::spawn(test());
            eddy::timeout(DEADLINE, task).await
        });
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) if e.is_panic() => {
                eprintln!("compat test failed on the {name} runtime");
                std::panic::resume_unwind(e.into_panic())
            }
            Ok(Err(e)) => panic!("compat test task ended with {e:?} on the {name} runtime"),
            Err(_) => panic!("compat test hung for {DEADLINE:?} on the {name} runtime"),
        }
    }
}

/// Lets spawned tasks reach their first `.await`: a few scheduler rounds, then a short
/// sleep for the other worker.
pub(crate) async fn settle() {
    for _ in 0..8 {
        eddy::yield_now().await;
    }
    eddy::sleep(Duration::from_millis(20)).await;
}

/// Aborts each handle and asserts it reports cancellation, not a panic or a result.
pub(crate) async fn expect_cancelled<T: std::fmt::Debug>(handles: Vec<eddy::task::JoinHandle<T>>) {
    for h in handles {
        h.abort();
        let err = h.await.expect_err("an aborted waiter cannot complete");
        assert!(err.is_cancelled(), "{err:?}");
    }
}
