//! Bad input comes back as an `io::Error` of a documented kind, never a panic.

use std::io::ErrorKind;
use std::os::fd::AsRawFd;

use eddy_selector::{Interest, Selector, Token};

#[test]
#[cfg_attr(
    miri,
    ignore = "Miri's fcntl(F_DUPFD) does not hand out the high fd number the test needs"
)]
fn closed_fd_is_invalid_input() {
    let selector = Selector::new().unwrap();
    let (reader, _writer) = std::io::pipe().unwrap();
    // A duplicate far above the fds other test threads open, so that once closed its
    // number stays free for the rest of the test (the kernel hands out the lowest free fd).
    // SAFETY: F_DUPFD on an open fd; the new fd is closed exactly once below.
    let fd = unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10_000) };
    assert!(fd >= 10_000, "F_DUPFD: {}", std::io::Error::last_os_error());
    // SAFETY: `fd` is the duplicate made above, closed exactly once.
    unsafe { libc::close(fd) };
    let err = selector
        .register(fd, Token(1), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(
        err.to_string().contains("not an open file descriptor"),
        "{err}"
    );
}

#[test]
fn negative_fd_is_invalid_input() {
    let selector = Selector::new().unwrap();
    for fd in [-1, i32::MIN] {
        assert_eq!(
            selector
                .register(fd, Token(1), Interest::READABLE)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            selector
                .reregister(fd, Token(1), Interest::READABLE)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidInput
        );
        assert_eq!(
            selector.deregister(fd).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}

#[test]
fn reserved_token_is_invalid_input() {
    let selector = Selector::new().unwrap();
    let (reader, _writer) = std::io::pipe().unwrap();
    let err = selector
        .register(reader.as_raw_fd(), Token::RESERVED, Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    selector
        .register(reader.as_raw_fd(), Token(1), Interest::READABLE)
        .unwrap();
    let err = selector
        .reregister(reader.as_raw_fd(), Token::RESERVED, Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn deregistering_an_unregistered_fd_is_not_found() {
    let selector = Selector::new().unwrap();
    let (reader, _writer) = std::io::pipe().unwrap();
    assert_eq!(
        selector.deregister(reader.as_raw_fd()).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // Deregistering twice is the same mistake.
    selector
        .register(reader.as_raw_fd(), Token(1), Interest::READABLE)
        .unwrap();
    selector.deregister(reader.as_raw_fd()).unwrap();
    assert_eq!(
        selector.deregister(reader.as_raw_fd()).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

/// kqueue cannot tell a second registration from an update, so this is epoll's behaviour.
#[cfg(target_os = "linux")]
#[test]
fn registering_twice_is_already_exists() {
    let selector = Selector::new().unwrap();
    let (reader, _writer) = crate::support::pipe(&selector, Token(1), Interest::READABLE);
    let err = selector
        .register(reader.as_raw_fd(), Token(2), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

/// kqueue's reregister adds filters that are missing, so this is epoll's behaviour.
#[cfg(target_os = "linux")]
#[test]
fn reregistering_an_unregistered_fd_is_not_found() {
    let selector = Selector::new().unwrap();
    let (reader, _writer) = std::io::pipe().unwrap();
    let err = selector
        .reregister(reader.as_raw_fd(), Token(1), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

/// epoll refuses regular files (they are always ready); kqueue accepts them.
#[cfg(target_os = "linux")]
#[test]
#[cfg_attr(miri, ignore = "opening a file needs Miri's isolation off")]
fn regular_file_is_invalid_input_on_epoll() {
    let selector = Selector::new().unwrap();
    let file = std::fs::File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let err = selector
        .register(file.as_raw_fd(), Token(1), Interest::READABLE)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("does not support readiness"),
        "{err}"
    );
}

#[test]
fn interest_is_never_empty() {
    let all = Interest::READABLE | Interest::WRITABLE | Interest::PRIORITY;
    assert_eq!(all.remove(all), None);
    assert_eq!(
        Interest::READABLE.remove(Interest::WRITABLE),
        Some(Interest::READABLE)
    );
    let mut i = Interest::WRITABLE;
    i |= Interest::PRIORITY;
    assert!(i.is_writable() && i.is_priority() && !i.is_readable());
    assert_eq!(format!("{all:?}"), "READABLE | WRITABLE | PRIORITY");
    assert_eq!(
        Interest::READABLE.add(Interest::WRITABLE),
        Interest::READABLE | Interest::WRITABLE
    );
}
