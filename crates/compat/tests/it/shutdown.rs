//! `serve`'s graceful shutdown with requests in flight, HTTP/1 and HTTP/2: a request that
//! finishes after the signal gets its answer, an idle connection closes, a request that
//! never finishes is cancelled after the grace period and named in the report, and new
//! connections are refused. Outcomes only: the requests are gated, not timed.

use std::sync::Arc;
use std::time::Duration;

use eddy::net::TcpStream;
use eddy::sync::{CancellationToken, Notify};
use eddy_compat::{EddyExecutor, HyperIo, Protocol, serve};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use std::future::IntoFuture;

use super::each_runtime;

/// One client connection, either version, with the task that drives it.
enum Client {
    H1(hyper::client::conn::http1::SendRequest<Full<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Full<Bytes>>),
}

async fn connect(
    addr: std::net::SocketAddr,
    protocol: Protocol,
) -> (
    Client,
    eddy::task::JoinHandle<Result<(), hyper::Error>>,
    std::net::SocketAddr,
) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let local = stream.local_addr().unwrap();
    let io = HyperIo::new(stream);
    match protocol {
        Protocol::Http2 => {
            let (sender, conn) = hyper::client::conn::http2::handshake(EddyExecutor::current(), io)
                .await
                .unwrap();
            (Client::H2(sender), eddy::spawn(conn), local)
        }
        _ => {
            let (sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            (Client::H1(sender), eddy::spawn(conn), local)
        }
    }
}

impl Client {
    async fn get(&mut self, path: &str) -> Result<String, hyper::Error> {
        let req = Request::get(format!("http://eddy{path}"))
            .body(Full::default())
            .unwrap();
        let resp = match self {
            Client::H1(s) => s.send_request(req).await?,
            Client::H2(s) => s.send_request(req).await?,
        };
        let body = resp.into_body().collect().await?.to_bytes();
        Ok(String::from_utf8(body.to_vec()).unwrap())
    }
}

#[test]
fn graceful_shutdown_drains_http1() {
    drains(Protocol::Http1);
}

#[test]
fn graceful_shutdown_drains_http2() {
    drains(Protocol::Http2);
}

fn drains(protocol: Protocol) {
    each_runtime(move || async move {
        // `/gated` answers once the gate opens; `/never` never answers. Each tells the test
        // it started, so the signal comes with both surely in flight.
        let gate = Arc::new(Notify::new());
        let (started, mut started_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
        let service = {
            let gate = gate.clone();
            hyper::service::service_fn(move |req: Request<Incoming>| {
                let (gate, started) = (gate.clone(), started.clone());
                async move {
                    let path = req.uri().path().to_owned();
                    started.send(path.clone()).unwrap();
                    match path.as_str() {
                        "/gated" => gate.notified().await,
                        "/never" => std::future::pending().await,
                        _ => {}
                    }
                    Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from(path))))
                }
            })
        };
        let listener = eddy::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        // The grace period bounds `/never`, which no grace period would let finish; it is
        // far longer than the gated request needs once its gate opens.
        let server = eddy::spawn(
            serve(listener, service)
                .protocol(protocol)
                .with_graceful_shutdown(stop.clone().cancelled_owned(), Duration::from_secs(2))
                .into_future(),
        );

        // An idle connection, after one answered request.
        let (mut idle, idle_conn, _) = connect(addr, protocol).await;
        assert_eq!(idle.get("/hello").await.unwrap(), "/hello");
        assert_eq!(started_rx.recv().await.unwrap(), "/hello");
        // Two requests in flight, on connections of their own.
        let (mut gated, gated_conn, _) = connect(addr, protocol).await;
        let gated = eddy::spawn(async move { gated.get("/gated").await });
        let (mut never, never_conn, never_addr) = connect(addr, protocol).await;
        let never = eddy::spawn(async move { never.get("/never").await });
        let mut seen = vec![
            started_rx.recv().await.unwrap(),
            started_rx.recv().await.unwrap(),
        ];
        seen.sort();
        assert_eq!(seen, ["/gated", "/never"]);

        stop.cancel();
        // The gated request, in flight when the signal came, may finish now.
        gate.notify_one();
        // The idle connection is closed by the server, with no error.
        idle_conn.await.unwrap().unwrap();
        // The gated request is answered in full; then its connection closes.
        assert_eq!(gated.await.unwrap().unwrap(), "/gated");
        gated_conn.await.unwrap().unwrap();
        // The listener went before any connection was told to stop: new ones are refused.
        let refused = TcpStream::connect(addr)
            .await
            .expect_err("the listener is closed");
        assert_eq!(
            refused.kind(),
            std::io::ErrorKind::ConnectionRefused,
            "{refused}"
        );

        // The request that never ends is cancelled with its connection after the grace.
        let report = server.await.unwrap().unwrap();
        never.await.unwrap().expect_err("cancelled, never answered");
        let _ = never_conn.await.unwrap();
        assert_eq!(report.connections, 3);
        assert_eq!(report.shutdown.finished(), 2, "{report}");
        let cancelled = report.shutdown.cancelled();
        assert_eq!(cancelled.len(), 1, "{report}");
        assert_eq!(
            cancelled[0].name(),
            Some(format!("conn {never_addr}").as_str())
        );
    });
}
