//! eddy-compat's tests: hyper (HTTP/1 and HTTP/2, client and server, `serve` and its
//! graceful shutdown), axum through `curl`, tokio-util's `Framed` over eddy sockets, the
//! tokio bridge with reqwest, and tracing spans.
//!
//! Every test runs once on a current-thread runtime and once on a multi-thread runtime of
//! two workers, as a spawned task under a deadline, so a lost wake-up fails the test
//! instead of hanging it.

mod axum;
mod bridge;
mod framed;
mod hyper;
mod shutdown;
mod tracing;

use std::future::Future;
use std::time::Duration;

/// How long one runtime flavour may take before the test counts it as hung.
const DEADLINE: Duration = Duration::from_secs(60);

/// The two flavours every test runs on, by name.
fn flavours() -> [(&'static str, eddy::runtime::Builder); 2] {
    [
        ("current-thread", eddy::Runtime::builder().current_thread()),
        (
            "multi-thread(2)",
            eddy::Runtime::builder().multi_thread().worker_threads(2),
        ),
    ]
}

/// Runs `test` on a current-thread runtime, then on a multi-thread runtime of two workers.
pub(crate) fn each_runtime<F, Fut>(test: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    for (name, builder) in flavours() {
        on_runtime(name, builder.build().expect("runtime"), test());
    }
}

/// Runs `test` as a task of `rt` under the deadline; a panic inside is re-raised here.
pub(crate) fn on_runtime<Fut>(name: &str, rt: eddy::Runtime, test: Fut)
where
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = rt.block_on(async {
        let task = eddy::spawn(test);
        eddy::timeout(DEADLINE, task).await
    });
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) if e.is_panic() => {
            eprintln!("test failed on the {name} runtime");
            std::panic::resume_unwind(e.into_panic())
        }
        Ok(Err(e)) => panic!("test task ended with {e:?} on the {name} runtime"),
        Err(_) => panic!("test hung for {DEADLINE:?} on the {name} runtime"),
    }
}

/// Whether `curl` can run; prints why the calling test is skipped when it cannot.
pub(crate) fn curl_present(test: &str) -> bool {
    let present = std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok();
    if !present {
        println!("SKIPPED {test}: `curl` is not installed (`cargo xtask ci` installs it)");
    }
    present
}

/// Runs `curl` with `args` on the blocking pool (it blocks), and returns its stdout.
pub(crate) fn curl(args: Vec<String>) -> eddy::task::JoinHandle<String> {
    eddy::spawn_blocking(move || {
        let out = std::process::Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "20"])
            .args(&args)
            .output()
            .expect("curl runs");
        assert!(out.status.success(), "curl {args:?}: {out:?}");
        String::from_utf8(out.stdout).expect("utf-8 body")
    })
}
