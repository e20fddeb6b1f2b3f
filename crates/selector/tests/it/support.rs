//! Helpers shared by the conformance tests.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use eddy_selector::{Event, Events, Interest, Selector, Token};

/// Long enough that a healthy machine never hits it, short enough that a lost event fails
/// the test instead of hanging CI.
pub(crate) const PATIENCE: Duration = Duration::from_secs(5);

/// A short wait used to show that nothing is reported.
pub(crate) const QUIET: Duration = Duration::from_millis(50);

/// Waits (at most `PATIENCE`) for the next events and returns them.
pub(crate) fn wait(selector: &Selector, events: &mut Events) -> Vec<Event> {
    selector
        .select(events, Some(PATIENCE))
        .expect("select failed");
    events.iter().collect()
}

/// Returns whatever is ready within `QUIET`: usually an assertion that nothing is.
pub(crate) fn quiet(selector: &Selector, events: &mut Events) -> Vec<Event> {
    selector.select(events, Some(QUIET)).expect("select failed");
    events.iter().collect()
}

/// Waits until an event for `token` arrives and returns it, failing after `PATIENCE`.
pub(crate) fn event_for(selector: &Selector, events: &mut Events, token: Token) -> Event {
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::time::Instant::now() < deadline {
        for event in wait(selector, events) {
            if event.token() == token {
                return event;
            }
        }
    }
    panic!("no event for {token:?} within {PATIENCE:?}");
}

pub(crate) fn set_nonblocking(fd: &impl AsRawFd) {
    let fd: RawFd = fd.as_raw_fd();
    // SAFETY: F_GETFL/F_SETFL on an fd the caller keeps open; no pointers are involved.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        assert!(flags >= 0, "F_GETFL: {}", io::Error::last_os_error());
        assert_eq!(libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK), 0);
    }
}

/// Reads until `WouldBlock`, as an edge-triggered consumer must; returns the byte count.
pub(crate) fn drain(reader: &mut impl io::Read) -> usize {
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return total,
            Err(e) => panic!("drain: {e}"),
        }
    }
}

/// A registered non-blocking pipe.
pub(crate) fn pipe(
    selector: &Selector,
    token: Token,
    interest: Interest,
) -> (io::PipeReader, io::PipeWriter) {
    let (reader, writer) = io::pipe().expect("pipe");
    set_nonblocking(&reader);
    set_nonblocking(&writer);
    selector
        .register(reader.as_raw_fd(), token, interest)
        .expect("register pipe");
    (reader, writer)
}
