//! axum on eddy: a small JSON API (routes in `examples/app/mod.rs`) served by
//! `eddy_compat::serve`, HTTP/1 and HTTP/2, with graceful shutdown on Ctrl-C or SIGTERM.
//!
//! Prints its address first (`listening on ADDR`). `--workers N` runs it on a multi-thread
//! runtime of N workers instead of one thread; `--requests N` shuts it down gracefully
//! after N requests (for scripts and `cargo xtask examples`).
//!
//! ```text
//! cargo run -p eddy-compat --example axum_app -- --addr 127.0.0.1:8080
//! curl http://127.0.0.1:8080/users/7                     # {"id":7,"name":"user 7"}
//! curl -H 'content-type: application/json' -d '{"item":"tea","quantity":3}' \
//!      http://127.0.0.1:8080/orders                      # {"item":"tea","quantity":3,"total_cents":750}
//! curl --http2-prior-knowledge http://127.0.0.1:8080/    # hello from eddy, over HTTP/2
//! ```

mod app;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use eddy::net::TcpListener;
use eddy::signal::{SignalKind, signal};
use eddy_compat::{TowerService, serve};
use futures_util::StreamExt;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    let number = |flag: &str| -> io::Result<Option<u64>> {
        value(flag)
            .map(|n| {
                n.parse().map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("{flag} {n}: {e}"))
                })
            })
            .transpose()
    };
    let addr = value("--addr")
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let limit = number("--requests")?;
    let runtime = match number("--workers")? {
        Some(n) => eddy::Runtime::builder()
            .multi_thread()
            .worker_threads(n as usize)
            .build()?,
        None => eddy::Runtime::builder().current_thread().build()?,
    };
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr.as_str()).await?;
        println!("listening on {}", listener.local_addr()?);
        let counter = Arc::new(AtomicU64::new(0));
        let app = app::app(counter.clone());
        let mut terminate = signal(SignalKind::terminate())?;
        let shutdown = async move {
            let limit_reached = async {
                match limit {
                    // A script's bound, not a hot path: look at the count now and then.
                    Some(n) => {
                        while counter.load(Ordering::SeqCst) < n {
                            eddy::sleep(Duration::from_millis(10)).await;
                        }
                    }
                    None => std::future::pending().await,
                }
            };
            let signalled = async {
                let ctrl_c = eddy::signal::ctrl_c();
                eddy::future::race(async { drop(ctrl_c.await) }, async {
                    terminate.next().await;
                })
                .await
            };
            eddy::future::race(limit_reached, signalled).await;
        };
        let report = serve(listener, TowerService::new(app))
            .with_graceful_shutdown(shutdown, Duration::from_secs(5))
            .await?;
        println!("{report}");
        Ok(())
    })
}
