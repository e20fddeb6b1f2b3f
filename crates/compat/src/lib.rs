//! eddy in the Rust ecosystem: hyper, axum and tower services, tokio's I/O traits, libraries
//! that need tokio's own runtime, and tracing.
//!
//! The runtime's crates (`eddy`, `eddy-net`, ...) depend on no peer runtime or HTTP stack;
//! this crate is where those peers meet eddy, so a program pays for them only if it links
//! it:
//!
//! | need | here |
//! | --- | --- |
//! | hyper 1.x on eddy (client or server, HTTP/1 or HTTP/2) | [`hyper_rt`]: [`HyperIo`], [`EddyExecutor`], [`EddyTimer`] |
//! | serve a hyper service, an axum `Router` or a tower stack, with graceful shutdown | [`serve`], [`TowerService`] |
//! | a library on `tokio::io::AsyncRead`/`AsyncWrite` (tokio-util codecs) over eddy sockets | [`TokioIo`] |
//! | a library that needs tokio's runtime (reqwest) | [`TokioBridge`] (feature `bridge`, on by default) |
//! | task spans and debug reports in `tracing` | the `tracing` module (feature `tracing`) |
//!
//! An axum app on eddy:
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use eddy_compat::{TowerService, serve};
//!
//! fn main() -> std::io::Result<()> {
//!     eddy::run(async {
//!         let app = Router::new().route("/", get(|| async { "hello from eddy" }));
//!         let listener = eddy::net::TcpListener::bind("127.0.0.1:8080").await?;
//!         serve(listener, TowerService::new(app)).await?;
//!         Ok(())
//!     })
//! }
//! ```

#[cfg(feature = "bridge")]
mod bridge;
pub mod hyper_rt;
mod serve;
pub mod tokio_io;
mod tower;
#[cfg(feature = "tracing")]
pub mod tracing;

#[cfg(feature = "bridge")]
pub use bridge::{BridgeError, Bridged, TokioBridge};
pub use hyper_rt::{EddyExecutor, EddySleep, EddyTimer, HyperIo};
pub use serve::{Protocol, Serve, ServeReport, serve};
pub use tokio_io::TokioIo;
pub use tower::TowerService;
