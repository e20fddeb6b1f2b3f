//! `serve`: a hyper service on an eddy `TcpListener`, HTTP/1 and HTTP/2, with graceful
//! shutdown.
//!
//! Each accepted connection runs as its own task in a [`TaskTracker`]. Without a shutdown
//! signal the server runs until accepting fails for good. With
//! [`Serve::with_graceful_shutdown`], once the signal completes:
//!
//! 1. the listener is dropped: new connections are refused;
//! 2. every open connection is told to finish (hyper's `graceful_shutdown`: an HTTP/1
//!    connection closes after the response in flight, or at once if idle; an HTTP/2 one
//!    sends `GOAWAY` and finishes its open streams);
//! 3. after the grace period, connections still open are dropped (their futures
//!    cancelled), and the [`ServeReport`] says which.

use std::error::Error as StdError;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::io;
use std::pin::{Pin, pin};
use std::time::Duration;

use eddy::net::{TcpListener, TcpStream};
use eddy::sync::CancellationToken;
use eddy::task::{ShutdownReport, TaskTracker};
use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper::{Request, Response};

use crate::hyper_rt::{EddyExecutor, EddyTimer, HyperIo};

type BoxError = Box<dyn StdError + Send + Sync>;

/// The first bytes of every HTTP/2 connection with prior knowledge (RFC 9113, 3.4); no
/// HTTP/1 method starts with them.
const H2_PREFACE_START: &[u8] = b"PRI";

/// How long the accept loop pauses after an accept error (`EMFILE`, say), so that a
/// listener out of descriptors does not spin; it retries after that.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(10);

/// Which HTTP versions a server speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// HTTP/1.1 (and 1.0) only.
    Http1,
    /// HTTP/2 only, with prior knowledge (`h2c`; no TLS, so no ALPN).
    Http2,
    /// Either, chosen per connection from its first bytes: the HTTP/2 preface or an HTTP/1
    /// request line. The default.
    #[default]
    Auto,
}

/// Serves `service` on `listener`; `.await` the result (see [`Serve`] for the options).
///
/// `service` is any hyper service; wrap a tower service (axum's `Router`) in
/// [`TowerService`](crate::TowerService).
///
/// ```no_run
/// use eddy_compat::{serve, TowerService};
///
/// fn main() -> std::io::Result<()> {
///     eddy::run(async {
///         let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
///         let listener = eddy::net::TcpListener::bind("127.0.0.1:8080").await?;
///         let report = serve(listener, TowerService::new(app))
///             .with_graceful_shutdown(
///                 async { drop(eddy::signal::ctrl_c().await) },
///                 std::time::Duration::from_secs(10),
///             )
///             .await?;
///         println!("{report}");
///         Ok(())
///     })
/// }
/// ```
pub fn serve<S>(listener: TcpListener, service: S) -> Serve<S, std::future::Pending<()>> {
    Serve {
        listener,
        service,
        options: Options {
            protocol: Protocol::Auto,
            header_read_timeout: Some(Duration::from_secs(30)),
        },
        signal: std::future::pending(),
        grace: Duration::ZERO,
    }
}

/// A server being configured; `.await` it to run. From [`serve`].
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve<S, G> {
    listener: TcpListener,
    service: S,
    options: Options,
    signal: G,
    grace: Duration,
}

#[derive(Clone, Copy, Debug)]
struct Options {
    protocol: Protocol,
    header_read_timeout: Option<Duration>,
}

impl<S, G> Serve<S, G> {
    /// Which HTTP versions to speak ([`Protocol::Auto`] by default).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.options.protocol = protocol;
        self
    }

    /// How long a connection may take to send a request's headers (HTTP/1), or its first
    /// bytes (protocol detection), before it is closed: 30 s by default; `None` waits
    /// forever.
    pub fn header_read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.options.header_read_timeout = timeout;
        self
    }

    /// Shuts the server down gracefully once `signal` completes: stop accepting, let the
    /// open connections finish what they are doing, and after `grace` drop those still
    /// open. The server's future then completes with a [`ServeReport`].
    pub fn with_graceful_shutdown<G2>(self, signal: G2, grace: Duration) -> Serve<S, G2>
    where
        G2: Future<Output = ()> + Send + 'static,
    {
        Serve {
            listener: self.listener,
            service: self.service,
            options: self.options,
            signal,
            grace,
        }
    }
}

impl<S, G> fmt::Debug for Serve<S, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("protocol", &self.options.protocol)
            .field("header_read_timeout", &self.options.header_read_timeout)
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

/// What a server did, once its graceful shutdown is over.
#[derive(Debug)]
#[non_exhaustive]
pub struct ServeReport {
    /// Connections accepted over the server's life.
    pub connections: u64,
    /// The drain: connections that finished within the grace period, and each one
    /// cancelled after it (task id, name with the peer's address, spawn site).
    pub shutdown: ShutdownReport,
}

impl fmt::Display for ServeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "served {} connections; {}",
            self.connections, self.shutdown
        )
    }
}

impl<S, B, G> IntoFuture for Serve<S, G>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    G: Future<Output = ()> + Send + 'static,
{
    type Output = io::Result<ServeReport>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<ServeReport>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(run(self))
    }
}

async fn run<S, B, G>(server: Serve<S, G>) -> io::Result<ServeReport>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    G: Future<Output = ()> + Send + 'static,
{
    let Serve {
        listener,
        service,
        options,
        signal,
        grace,
    } = server;
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let mut connections = 0u64;
    let mut signal = pin!(signal);
    loop {
        let accepted = eddy::future::race(async { Some(listener.accept().await) }, async {
            signal.as_mut().await;
            None
        })
        .await;
        let Some(accepted) = accepted else { break };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // A connection reset before it was accepted, or no descriptor left: the
                // listener still works, so keep serving the others.
                if e.kind() != io::ErrorKind::ConnectionAborted {
                    eddy::sleep(ACCEPT_ERROR_PAUSE).await;
                }
                continue;
            }
        };
        connections += 1;
        let (service, stop) = (service.clone(), stop.child_token());
        tracker.spawn_named(
            &format!("conn {peer}"),
            serve_connection(stream, service, options, stop),
        );
    }
    // New connections are refused from here on.
    drop(listener);
    stop.cancel();
    let shutdown = tracker.shutdown(grace).await;
    #[cfg(feature = "tracing")]
    crate::tracing::shutdown_report(&shutdown);
    Ok(ServeReport {
        connections,
        shutdown,
    })
}

/// Serves one connection until it closes, or until `stop` is cancelled and the connection
/// has finished gracefully.
async fn serve_connection<S, B>(
    stream: TcpStream,
    service: S,
    options: Options,
    stop: CancellationToken,
) where
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let protocol = match options.protocol {
        Protocol::Auto => {
            let detect = detect(&stream);
            let detected = match options.header_read_timeout {
                Some(timeout) => stop
                    .run_until_cancelled(eddy::timeout(timeout, detect))
                    .await
                    .and_then(Result::ok),
                None => stop.run_until_cancelled(detect).await,
            };
            match detected {
                Some(Ok(protocol)) => protocol,
                // Shut down, timed out or failed before the first bytes: nothing to finish.
                _ => return,
            }
        }
        fixed => fixed,
    };
    let io = HyperIo::new(stream);
    // Errors of one connection (a client that vanished, a malformed request) end that
    // connection only; hyper has already answered what it could.
    let _ = match protocol {
        Protocol::Http2 => {
            let conn = hyper::server::conn::http2::Builder::new(EddyExecutor::current())
                .timer(EddyTimer)
                .serve_connection(io, service);
            drive(conn, &stop).await
        }
        _ => {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(EddyTimer);
            builder.header_read_timeout(options.header_read_timeout);
            drive(builder.serve_connection(io, service), &stop).await
        }
    };
}

/// HTTP/2 with prior knowledge or HTTP/1, from the connection's first bytes, read with
/// `peek` so hyper still sees them.
async fn detect(stream: &TcpStream) -> io::Result<Protocol> {
    let mut first = [0; H2_PREFACE_START.len()];
    loop {
        let n = stream.peek(&mut first).await?;
        if n == 0 || !H2_PREFACE_START.starts_with(&first[..n]) {
            // End of stream, or not the preface: hyper's HTTP/1 side answers or closes.
            return Ok(Protocol::Http1);
        }
        if n == first.len() {
            return Ok(Protocol::Http2);
        }
        // "P" or "PR" so far (a POST or PUT, or the preface cut short): a peek would
        // return the same bytes at once, so wait a little for the rest.
        eddy::sleep(Duration::from_millis(1)).await;
    }
}

/// A hyper server connection that can be told to finish.
trait GracefulConnection: Future<Output = Result<(), hyper::Error>> {
    fn graceful_shutdown(self: Pin<&mut Self>);
}

impl<I, S, B> GracefulConnection for hyper::server::conn::http1::Connection<I, S>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    B: Body + 'static,
    B::Error: Into<BoxError>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http1::Connection::graceful_shutdown(self);
    }
}

impl<I, S, B, E> GracefulConnection for hyper::server::conn::http2::Connection<I, S, E>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S: hyper::service::HttpService<Incoming, ResBody = B>,
    S::Error: Into<BoxError>,
    B: Body + 'static,
    B::Error: Into<BoxError>,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn graceful_shutdown(self: Pin<&mut Self>) {
        hyper::server::conn::http2::Connection::graceful_shutdown(self);
    }
}

/// Runs `conn` to its end; once `stop` is cancelled, asks it to finish gracefully first.
async fn drive<C: GracefulConnection>(
    conn: C,
    stop: &CancellationToken,
) -> Result<(), hyper::Error> {
    let mut conn = pin!(conn);
    let finished = eddy::future::race(async { Some(conn.as_mut().await) }, async {
        stop.cancelled().await;
        None
    })
    .await;
    match finished {
        Some(result) => result,
        None => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    }
}
