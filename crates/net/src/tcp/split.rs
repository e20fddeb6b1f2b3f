//! A `TcpStream`'s read and write halves: borrowed (`split`) and owned (`into_split`).
//!
//! The halves use the stream's two single-waiter paths, one each, so one task can read
//! while another writes; their reads and writes are the stream's own (`crate::stream`).

use std::error::Error;
use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;

use super::TcpStream;
use crate::stream;

/// The read half of a borrowed [`TcpStream`], from [`TcpStream::split`].
#[derive(Debug)]
pub struct ReadHalf<'a>(&'a TcpStream);

/// The write half of a borrowed [`TcpStream`], from [`TcpStream::split`].
#[derive(Debug)]
pub struct WriteHalf<'a>(&'a TcpStream);

/// The read half of a [`TcpStream`] that can move to another task, from
/// [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf(Arc<TcpStream>);

/// The write half of a [`TcpStream`] that can move to another task, from
/// [`TcpStream::into_split`]. Dropping it shuts the write direction down, so the peer
/// reads end-of-stream.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    stream: Arc<TcpStream>,
    shutdown_on_drop: bool,
}

impl TcpStream {
    /// Borrows the stream as a read half and a write half, usable from one task each
    /// (for example inside `futures::join!`).
    ///
    /// With `futures::AsyncReadExt` in scope, `stream.split()` resolves to that trait's
    /// by-value `split`; write `TcpStream::split(&mut stream)` to get this one.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(self), WriteHalf(self))
    }

    /// Splits the stream into halves that can move to different tasks;
    /// [`reunite`](OwnedReadHalf::reunite) puts them back together.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let stream = Arc::new(self);
        (
            OwnedReadHalf(Arc::clone(&stream)),
            OwnedWriteHalf {
                stream,
                shutdown_on_drop: true,
            },
        )
    }
}

/// A read half's methods: the stream's reads (`crate::stream`), and its addresses.
macro_rules! read_half {
    ($ty:ty, $half:ident => $stream:expr) => {
        stream::stream_methods!($ty as "TcpStream"; $half => &$stream.io; read);
        stream::impl_futures_io!(AsyncRead for $ty; $half => &$stream.io);

        impl $ty {
            /// The peer's address.
            ///
            /// # Errors
            ///
            /// The system's error.
            pub fn peer_addr(&self) -> io::Result<SocketAddr> {
                let $half = self;
                $stream.peer_addr()
            }

            /// The local address.
            ///
            /// # Errors
            ///
            /// The system's error.
            pub fn local_addr(&self) -> io::Result<SocketAddr> {
                let $half = self;
                $stream.local_addr()
            }
        }
    };
}

/// A write half's methods: the stream's writes (`crate::stream`), and shutting them down.
macro_rules! write_half {
    ($ty:ty, $half:ident => $stream:expr) => {
        stream::stream_methods!($ty as "TcpStream"; $half => &$stream.io; write);
        stream::impl_futures_io!(AsyncWrite for $ty; $half => &$stream.io);

        impl $ty {
            /// Shuts the write direction down: the peer reads end-of-stream.
            ///
            /// # Errors
            ///
            /// The system's error.
            pub fn shutdown(&self) -> io::Result<()> {
                let $half = self;
                $stream.shutdown(Shutdown::Write)
            }
        }
    };
}

read_half!(ReadHalf<'_>, half => half.0);
read_half!(OwnedReadHalf, half => half.0);
write_half!(WriteHalf<'_>, half => half.0);
write_half!(OwnedWriteHalf, half => half.stream);

impl OwnedReadHalf {
    /// Puts the halves of one stream back together.
    ///
    /// # Errors
    ///
    /// [`ReuniteError`], giving both halves back, if they come from different streams.
    pub fn reunite(self, mut write: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Arc::ptr_eq(&self.0, &write.stream) {
            return Err(ReuniteError(self, write));
        }
        write.shutdown_on_drop = false;
        drop(write);
        Ok(Arc::into_inner(self.0).expect("invariant: the two halves held the only references"))
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The peer may already be gone; there is nobody to tell about an error here.
            let _ = self.stream.shutdown(Shutdown::Write);
        }
    }
}

/// The halves given to [`OwnedReadHalf::reunite`] came from different streams.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same TcpStream")
    }
}

impl Error for ReuniteError {}
