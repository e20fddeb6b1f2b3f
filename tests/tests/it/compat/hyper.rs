//! hyper 1.x on eddy through the adapters of `crates/eddy/examples/hyper_support`: hyper
//! clients and a hyper server on eddy's sockets, executor and timer, then `curl` (a client
//! nobody here wrote) against the same server.

#[path = "../../../../crates/eddy/examples/hyper_support/mod.rs"]
mod hyper_support;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use eddy::net::{TcpListener, TcpStream};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::rt::Executor;
use hyper::{Method, Request, Response, StatusCode};
use hyper_support::{EddyExecutor, EddyIo, EddyTimer};

use super::each_runtime;

/// The example server's service: `hello`, or the POST body echoed.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    if req.method() == Method::POST {
        let body = req.into_body().collect().await?.to_bytes();
        return Ok(Response::new(Full::new(body)));
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
}

/// Serves HTTP/1.1 on a loopback port until the returned task is aborted; counts requests.
async fn server() -> (SocketAddr, Arc<AtomicUsize>, eddy::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let task = eddy::spawn(async move {
        // Dropping the set (when this task is aborted) cancels every connection.
        let mut connections = eddy::task::JoinSet::new();
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let count = count.clone();
            let service = hyper::service::service_fn(move |req| {
                count.fetch_add(1, Ordering::SeqCst);
                handle(req)
            });
            connections.spawn(async move {
                hyper::server::conn::http1::Builder::new()
                    .timer(EddyTimer)
                    .header_read_timeout(Duration::from_secs(10))
                    .serve_connection(EddyIo::new(stream), service)
                    .await
                    .unwrap();
            });
        }
    });
    (addr, served, task)
}

#[test]
fn ten_thousand_requests_over_keep_alive() {
    const CONNECTIONS: usize = 50;
    const REQUESTS: usize = 200;
    each_runtime(|| async {
        let (addr, served, server) = server().await;
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|c| {
                eddy::spawn(async move {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    let (mut sender, conn) =
                        hyper::client::conn::http1::handshake(EddyIo::new(stream))
                            .await
                            .unwrap();
                    // The connection is driven by a task of its own, spawned through hyper's
                    // executor seam.
                    EddyExecutor::current().execute(async move { conn.await.unwrap() });
                    for r in 0..REQUESTS {
                        sender.ready().await.unwrap();
                        let (req, want) = if r % 2 == 0 {
                            let req = Request::get("/").header("host", "eddy");
                            (
                                req.body(Full::<Bytes>::default()).unwrap(),
                                "hello".to_owned(),
                            )
                        } else {
                            let body = format!("connection {c} request {r}");
                            let req = Request::post("/echo").header("host", "eddy");
                            (
                                req.body(Full::new(Bytes::from(body.clone()))).unwrap(),
                                body,
                            )
                        };
                        let resp = sender.send_request(req).await.unwrap();
                        assert_eq!(resp.status(), StatusCode::OK);
                        let body = resp.into_body().collect().await.unwrap().to_bytes();
                        assert_eq!(body, want.as_bytes(), "connection {c} request {r}");
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        assert_eq!(served.load(Ordering::SeqCst), CONNECTIONS * REQUESTS);
        server.abort();
    });
}

#[test]
fn hyper_timer_fires_header_read_timeout() {
    each_runtime(|| async {
        // Half a request, then silence: hyper's header-read timeout, on EddyTimer, ends the
        // connection with a timeout error.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = eddy::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let started = std::time::Instant::now();
            let result = hyper::server::conn::http1::Builder::new()
                .timer(EddyTimer)
                .header_read_timeout(Duration::from_millis(100))
                .serve_connection(EddyIo::new(stream), hyper::service::service_fn(handle))
                .await;
            (result, started.elapsed())
        });
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let (result, took) = served.await.unwrap();
        let err = result.expect_err("a request that never ends times out");
        assert!(err.is_timeout(), "{err}");
        assert!(
            took >= Duration::from_millis(100),
            "timed out early: {took:?}"
        );
    });
}

#[test]
fn curl_gets_and_posts() {
    if Command::new("curl").arg("--version").output().is_err() {
        println!(
            "SKIPPED curl_gets_and_posts: `curl` is not installed (it is not installed by tests)"
        );
        return;
    }
    each_runtime(|| async {
        let (addr, served, server) = server().await;
        // curl blocks: run it on the blocking pool, one process per request.
        let curl = move |args: Vec<String>| {
            eddy::spawn_blocking(move || {
                let out = Command::new("curl")
                    .args(["--silent", "--show-error", "--max-time", "10"])
                    .args(&args)
                    .output()
                    .expect("curl runs");
                assert!(out.status.success(), "curl {args:?}: {out:?}");
                String::from_utf8(out.stdout).expect("utf-8 body")
            })
        };
        let base = format!("http://{addr}");
        let get = curl(vec![format!("{base}/")]);
        let post = curl(vec![
            "--data-binary".into(),
            "posted by curl".into(),
            format!("{base}/echo"),
        ]);
        // Two URLs on one command line: curl reuses the connection (keep-alive).
        let twice = curl(vec![format!("{base}/a"), format!("{base}/b")]);
        let big: String = (0..100_000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let big_post = curl(vec![
            "--data-binary".into(),
            big.clone(),
            format!("{base}/big"),
        ]);
        assert_eq!(get.await.unwrap(), "hello");
        assert_eq!(post.await.unwrap(), "posted by curl");
        assert_eq!(twice.await.unwrap(), "hellohello");
        assert_eq!(big_post.await.unwrap(), big);
        assert_eq!(served.load(Ordering::SeqCst), 5);
        server.abort();
    });
}
