//! hyper 1.x on eddy through eddy-compat: hyper's clients (HTTP/1 and HTTP/2) against
//! [`eddy_compat::serve`], hyper's header-read timeout on `EddyTimer`, and `curl` (a client
//! nobody here wrote) against the same server.

use std::future::IntoFuture as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use eddy::net::{TcpListener, TcpStream};
use eddy::sync::CancellationToken;
use eddy_compat::{EddyExecutor, EddyTimer, HyperIo, Protocol, ServeReport, serve};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::rt::Executor;
use hyper::{Method, Request, Response, StatusCode};

use super::{curl, curl_present, each_runtime};

/// The test server's service: `GET` answers `hello`, `POST` echoes the body.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    if req.method() == Method::POST {
        let body = req.into_body().collect().await?.to_bytes();
        return Ok(Response::new(Full::new(body)));
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"hello"))))
}

/// A running `serve`: its address, the requests it answered, and how to stop it.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) served: Arc<AtomicUsize>,
    pub(crate) stop: CancellationToken,
    pub(crate) task: eddy::task::JoinHandle<std::io::Result<ServeReport>>,
}

impl Server {
    /// Stops the server (grace as given at start) and returns its report.
    pub(crate) async fn shut_down(self) -> ServeReport {
        self.stop.cancel();
        self.task.await.unwrap().unwrap()
    }
}

/// Serves [`handle`] on a loopback port, speaking `protocol`, with a 5 s grace period.
pub(crate) async fn server(protocol: Protocol) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let service = hyper::service::service_fn(move |req| {
        count.fetch_add(1, Ordering::SeqCst);
        handle(req)
    });
    let stop = CancellationToken::new();
    let task = eddy::spawn(
        serve(listener, service)
            .protocol(protocol)
            .with_graceful_shutdown(stop.clone().cancelled_owned(), Duration::from_secs(5))
            .into_future(),
    );
    Server {
        addr,
        served,
        stop,
        task,
    }
}

/// Request `r` of connection `c`: even ones are GETs answered `hello`, odd ones POST a body
/// of their own that must come back.
fn request(c: usize, r: usize) -> (Request<Full<Bytes>>, String) {
    if r.is_multiple_of(2) {
        let req = Request::get("http://eddy/").body(Full::default()).unwrap();
        (req, "hello".to_owned())
    } else {
        let body = format!("connection {c} request {r}");
        let req = Request::post("http://eddy/echo")
            .body(Full::new(Bytes::from(body.clone())))
            .unwrap();
        (req, body)
    }
}

#[test]
fn http1_ten_thousand_requests_over_keep_alive() {
    const CONNECTIONS: usize = 50;
    const REQUESTS: usize = 200;
    each_runtime(|| async {
        let server = server(Protocol::Auto).await;
        let addr = server.addr;
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|c| {
                eddy::spawn(async move {
                    let stream = TcpStream::connect(addr).await.unwrap();
                    let (mut sender, conn) =
                        hyper::client::conn::http1::handshake(HyperIo::new(stream))
                            .await
                            .unwrap();
                    // The connection is driven by a task of its own, spawned through hyper's
                    // executor seam.
                    EddyExecutor::current().execute(async move { conn.await.unwrap() });
                    for r in 0..REQUESTS {
                        sender.ready().await.unwrap();
                        let (req, want) = request(c, r);
                        let resp = sender.send_request(req).await.unwrap();
                        assert_eq!(resp.status(), StatusCode::OK);
                        assert_eq!(resp.version(), hyper::Version::HTTP_11);
                        let body = resp.into_body().collect().await.unwrap().to_bytes();
                        assert_eq!(body, want.as_bytes(), "connection {c} request {r}");
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        assert_eq!(server.served.load(Ordering::SeqCst), CONNECTIONS * REQUESTS);
        let report = server.shut_down().await;
        assert_eq!(report.connections, CONNECTIONS as u64);
        assert!(report.shutdown.is_clean(), "{report}");
    });
}

#[test]
fn http2_ten_thousand_requests_multiplexed() {
    const CONNECTIONS: usize = 10;
    const STREAMS: usize = 10;
    const REQUESTS: usize = 100;
    each_runtime(|| async {
        let server = server(Protocol::Auto).await;
        let addr = server.addr;
        let mut clients = Vec::new();
        for c in 0..CONNECTIONS {
            let stream = TcpStream::connect(addr).await.unwrap();
            let (sender, conn) = hyper::client::conn::http2::Builder::new(EddyExecutor::current())
                .timer(EddyTimer)
                .handshake(HyperIo::new(stream))
                .await
                .unwrap();
            EddyExecutor::current().execute(async move { conn.await.unwrap() });
            // STREAMS tasks share the connection, each with one request in flight.
            for s in 0..STREAMS {
                let mut sender = sender.clone();
                clients.push(eddy::spawn(async move {
                    for r in 0..REQUESTS {
                        sender.ready().await.unwrap();
                        let (req, want) = request(c, s * REQUESTS + r);
                        let resp = sender.send_request(req).await.unwrap();
                        assert_eq!(resp.status(), StatusCode::OK);
                        assert_eq!(resp.version(), hyper::Version::HTTP_2);
                        let body = resp.into_body().collect().await.unwrap().to_bytes();
                        assert_eq!(
                            body,
                            want.as_bytes(),
                            "connection {c} stream {s} request {r}"
                        );
                    }
                }));
            }
        }
        for c in clients {
            c.await.unwrap();
        }
        let want = CONNECTIONS * STREAMS * REQUESTS;
        assert_eq!(server.served.load(Ordering::SeqCst), want);
        let report = server.shut_down().await;
        assert_eq!(report.connections, CONNECTIONS as u64);
        assert!(report.shutdown.is_clean(), "{report}");
    });
}

#[test]
fn fixed_protocols_serve_their_own_clients() {
    each_runtime(|| async {
        for protocol in [Protocol::Http1, Protocol::Http2] {
            let server = server(protocol).await;
            let stream = TcpStream::connect(server.addr).await.unwrap();
            let io = HyperIo::new(stream);
            let resp = if protocol == Protocol::Http2 {
                let (mut sender, conn) =
                    hyper::client::conn::http2::handshake(EddyExecutor::current(), io)
                        .await
                        .unwrap();
                EddyExecutor::current().execute(async move { conn.await.unwrap() });
                sender.send_request(request(0, 1).0).await.unwrap()
            } else {
                let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
                EddyExecutor::current().execute(async move { conn.await.unwrap() });
                sender.send_request(request(0, 1).0).await.unwrap()
            };
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, "connection 0 request 1", "{protocol:?}");
            server.shut_down().await;
        }
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
                .serve_connection(HyperIo::new(stream), hyper::service::service_fn(handle))
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
    if !curl_present("curl_gets_and_posts") {
        return;
    }
    each_runtime(|| async {
        let server = server(Protocol::Auto).await;
        let base = format!("http://{}", server.addr);
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
        assert_eq!(server.served.load(Ordering::SeqCst), 5);
        server.shut_down().await;
    });
}
