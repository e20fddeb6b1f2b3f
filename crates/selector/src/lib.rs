//! eddy's lowest layer: readiness events from epoll (Linux) or kqueue (macOS, FreeBSD, NetBSD),
//! written directly on the system calls.
//!
//! A [`Selector`] watches many fds at once. Each fd is registered with a [`Token`] (the
//! caller's name for it) and an [`Interest`] (readable, writable, priority); a call to
//! [`Selector::select`] fills an [`Events`] buffer with an [`Event`] per ready fd. A
//! [`Notifier`] wakes a `select` that is blocked in another thread.
//!
//! Registrations are **edge-triggered** (`EPOLLET`, kqueue `EV_CLEAR`): an event means
//! readiness changed, and the caller must drain the fd until `WouldBlock` before waiting
//! for the next edge. eddy-net's reactor does that; `docs/selector.md` explains why.
//!
//! ```
//! use std::io::Write;
//! use std::os::fd::AsRawFd;
//! use std::time::Duration;
//!
//! use eddy_selector::{Events, Interest, Selector, Token};
//!
//! # fn main() -> std::io::Result<()> {
//! let selector = Selector::new()?;
//! let (reader, mut writer) = std::io::pipe()?;
//! selector.register(reader.as_raw_fd(), Token(7), Interest::READABLE)?;
//!
//! writer.write_all(b"hello")?;
//!
//! let mut events = Events::with_capacity(16);
//! selector.select(&mut events, Some(Duration::from_secs(5)))?;
//! let event = events.iter().next().expect("the pipe became readable");
//! assert_eq!(event.token(), Token(7));
//! assert!(event.is_readable());
//!
//! selector.deregister(reader.as_raw_fd())?;
//! # Ok(())
//! # }
//! ```

mod event;
mod interest;
// Only the epoll backend has an atomic (its `epoll_pwait2` cache).
#[cfg(target_os = "linux")]
mod loom;
mod selector;
mod sys;
mod token;

pub use event::{Event, Events, Iter};
pub use interest::Interest;
pub use selector::{Notifier, Selector};
pub use token::Token;
