//! hyper 1.x on eddy: a server that answers `hello` and echoes POST bodies, through
//! `eddy_compat::serve` (HTTP/1.1 and HTTP/2 with prior knowledge, chosen per connection).
//!
//! Prints its address first (`listening on ADDR`). With `--requests N` it shuts down
//! gracefully after N requests: it stops accepting, lets open connections finish (for at
//! most five seconds) and exits. With `--workers N` it runs on a multi-thread runtime of N
//! workers instead of one thread.
//!
//! ```text
//! cargo run --release -p eddy-compat --example hyper_server -- --addr 127.0.0.1:8080
//! curl http://127.0.0.1:8080/            # hello
//! curl -d 'echo me' http://127.0.0.1:8080/  # echo me
//! ```

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use eddy::net::TcpListener;
use eddy::sync::Notify;
use eddy_compat::serve;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response};

/// `GET` anything: `hello`. `POST` anything: the request body.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    if req.method() == Method::POST {
        let body = req.into_body().collect().await?.to_bytes();
        return Ok(Response::new(Full::new(body)));
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| -> io::Result<Option<String>> {
        args.iter()
            .position(|a| a == flag)
            .map(|i| {
                args.get(i + 1).cloned().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("{flag} needs a value"))
                })
            })
            .transpose()
    };
    let number = |flag: &str| -> io::Result<Option<usize>> {
        value(flag)?
            .map(|n| {
                n.parse().map_err(|e| {
                    io::Error::new(io::ErrorKind::InvalidInput, format!("{flag}: {e}"))
                })
            })
            .transpose()
    };
    let addr = value("--addr")?.unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let limit = number("--requests")?;
    let workers = number("--workers")?;
    let runtime = match workers {
        Some(n) => eddy::Runtime::builder()
            .multi_thread()
            .worker_threads(n)
            .build()?,
        None => eddy::Runtime::builder().current_thread().build()?,
    };
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr.as_str()).await?;
        // The first line is the address, so a script (or a test) can connect to it.
        println!("listening on {}", listener.local_addr()?);
        let served = Arc::new(AtomicUsize::new(0));
        // notify_one stores a permit when nobody waits, so the last request is never missed.
        let done = Arc::new(Notify::new());
        let service = {
            let (served, done) = (served.clone(), done.clone());
            hyper::service::service_fn(move |req| {
                let n = served.fetch_add(1, Ordering::SeqCst) + 1;
                if limit == Some(n) {
                    done.notify_one();
                }
                handle(req)
            })
        };
        let report = serve(listener, service)
            .header_read_timeout(Some(Duration::from_secs(10)))
            .with_graceful_shutdown(async move { done.notified().await }, Duration::from_secs(5))
            .await?;
        if !report.shutdown.is_clean() {
            println!("connections still open after 5 s were closed: {report}");
        }
        let threads = workers.map_or("one thread".to_owned(), |n| format!("{n} workers"));
        println!(
            "served {} requests on {threads}",
            served.load(Ordering::SeqCst)
        );
        Ok(())
    })
}
