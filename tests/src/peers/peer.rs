//! The peer: a plain blocking std thread that performs a case's actions on its end of the
//! socket with libc calls, then ends it the way the case says.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use super::SocketKind;
use super::actions::{Action, Case, End};
use super::checks::{URGENT, dgram_byte, stream_byte};

/// How long the peer waits for eddy's side at any one step before it gives up.
const PATIENCE: Duration = Duration::from_secs(30);

/// UDP datagrams in flight at most: loopback drops what a full receive buffer cannot
/// hold (about three 60 KiB datagrams in the default 208 KiB), and a drop is not eddy's.
const UDP_WINDOW: usize = 2;

/// What the peer and eddy's side share.
#[derive(Debug, Default)]
pub(crate) struct Link {
    /// Set (Release) once the peer has performed every action; eddy's side loads it
    /// (Acquire) to tell "not sent yet" from "sent and lost".
    pub(crate) done: AtomicBool,
    /// Datagrams eddy's side has read (the UDP window); Relaxed: it only paces the peer.
    pub(crate) consumed: AtomicUsize,
}

/// The messages eddy's side sends the peer: "idle check done, end now", then "I saw the
/// end, close".
pub(crate) struct Signals {
    pub(crate) go: Receiver<()>,
    pub(crate) finish: Receiver<()>,
}

/// Runs the peer's side of `case` on `fd`.
pub(crate) fn run(
    kind: SocketKind,
    fd: OwnedFd,
    case: &Case,
    link: &Arc<Link>,
    signals: &Signals,
) -> Result<(), String> {
    let mut p = Peer {
        kind,
        fd: Some(fd),
        offset: 0,
        dgrams: 0,
        devnull: std::fs::File::open("/dev/null").map_err(|e| format!("/dev/null: {e}"))?,
    };
    for (i, a) in case.actions.iter().enumerate() {
        p.act(a, link)
            .map_err(|e| format!("peer action {i} ({a:?}): {e}"))?;
    }
    if case.end == End::Refused {
        p.fd = None;
    }
    link.done.store(true, Ordering::Release);
    if signals.go.recv_timeout(PATIENCE).is_err() {
        // eddy's side failed (and says why) or gave up; nothing more to do.
        return Ok(());
    }
    let end = |e: io::Error| format!("peer end ({:?}): {e}", case.end);
    match case.end {
        End::Close { tail } => {
            p.write_stream(tail).map_err(end)?;
        }
        End::ShutdownWrite { tail } => {
            p.write_stream(tail).map_err(end)?;
            // SAFETY: shutdown takes no memory; the fd is open (owned by `p`).
            cvt(unsafe { libc::shutdown(p.raw(), libc::SHUT_WR) }).map_err(end)?;
            let _ = signals.finish.recv_timeout(PATIENCE);
        }
        End::Reset { tail } => {
            p.write_stream(tail).map_err(end)?;
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: SO_LINGER takes a `linger` of the size given, valid for the call.
            cvt(unsafe {
                libc::setsockopt(
                    p.raw(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&raw const linger).cast(),
                    size_of::<libc::linger>() as libc::socklen_t,
                )
            })
            .map_err(end)?;
        }
        End::Open => {
            let _ = signals.finish.recv_timeout(PATIENCE);
        }
        End::Refused => {}
    }
    drop(p);
    Ok(())
}

struct Peer {
    kind: SocketKind,
    /// `None` once closed early (`End::Refused`).
    fd: Option<OwnedFd>,
    /// Normal stream bytes sent so far.
    offset: usize,
    /// Datagrams sent so far.
    dgrams: usize,
    /// The fd passed with `SCM_RIGHTS`.
    devnull: std::fs::File,
}

impl Peer {
    fn raw(&self) -> RawFd {
        self.fd
            .as_ref()
            .expect("invariant: the peer acts only while its fd is open")
            .as_raw_fd()
    }

    fn act(&mut self, a: &Action, link: &Link) -> io::Result<()> {
        match *a {
            Action::Pause(ms) => std::thread::sleep(Duration::from_millis(ms.into())),
            Action::Write(n) if self.kind.is_stream() => self.write_stream(n)?,
            Action::Oob(n) => {
                let mut buf: Vec<u8> = (0..n - 1).map(|j| stream_byte(self.offset + j)).collect();
                buf.push(URGENT);
                // SAFETY: `buf` is live and readable for its length during the call.
                let sent = cvt_len(unsafe {
                    libc::send(
                        self.raw(),
                        buf.as_ptr().cast(),
                        buf.len(),
                        libc::MSG_OOB | libc::MSG_NOSIGNAL,
                    )
                })?;
                if sent != n {
                    return Err(io::Error::other(format!(
                        "MSG_OOB sent {sent} of {n} bytes"
                    )));
                }
                self.offset += n - 1;
            }
            Action::WithFd(n) if self.kind.is_stream() => {
                let buf: Vec<u8> = (0..n).map(|j| stream_byte(self.offset + j)).collect();
                let sent = send_with_fd(self.raw(), &buf, self.devnull.as_raw_fd())?;
                self.offset += sent;
                self.write_stream(n - sent)?;
            }
            Action::Write(n) | Action::WithFd(n) => {
                self.wait_window(link)?;
                let buf: Vec<u8> = (0..n).map(|j| dgram_byte(self.dgrams, j)).collect();
                let sent = if matches!(a, Action::WithFd(_)) {
                    send_with_fd(self.raw(), &buf, self.devnull.as_raw_fd())?
                } else {
                    // SAFETY: `buf` is live and readable for its length during the call.
                    cvt_len(unsafe {
                        libc::send(self.raw(), buf.as_ptr().cast(), n, libc::MSG_NOSIGNAL)
                    })?
                };
                if sent != n {
                    return Err(io::Error::other(format!(
                        "datagram sent {sent} of {n} bytes"
                    )));
                }
                self.dgrams += 1;
            }
        }
        Ok(())
    }

    /// Writes the next `n` normal stream bytes, in chunks of at most 256 KiB.
    fn write_stream(&mut self, n: usize) -> io::Result<()> {
        let end = self.offset + n;
        while self.offset < end {
            let chunk: Vec<u8> = (self.offset..end.min(self.offset + 256 * 1024))
                .map(stream_byte)
                .collect();
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                let r = if self.kind == SocketKind::Pipe {
                    // SAFETY: `rest` is live and readable for its length during the call.
                    unsafe { libc::write(self.raw(), rest.as_ptr().cast(), rest.len()) }
                } else {
                    // SAFETY: as above.
                    unsafe {
                        libc::send(
                            self.raw(),
                            rest.as_ptr().cast(),
                            rest.len(),
                            libc::MSG_NOSIGNAL,
                        )
                    }
                };
                match cvt_len(r) {
                    Ok(k) => {
                        rest = &rest[k..];
                        self.offset += k;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// UDP only: waits until fewer than [`UDP_WINDOW`] datagrams are unread.
    fn wait_window(&self, link: &Link) -> io::Result<()> {
        if self.kind != SocketKind::Udp {
            return Ok(());
        }
        let started = Instant::now();
        while self.dgrams - link.consumed.load(Ordering::Relaxed) >= UDP_WINDOW {
            if started.elapsed() > PATIENCE {
                return Err(io::Error::other("eddy read no datagram for 30 s"));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        Ok(())
    }
}

/// `sendmsg` of `data` with one fd in an `SCM_RIGHTS` message; returns the bytes sent.
fn send_with_fd(fd: RawFd, data: &[u8], pass: RawFd) -> io::Result<usize> {
    // CMSG_SPACE(4) is 24 bytes on 64-bit Linux; u64s give `cmsghdr` its alignment.
    let mut control = [0u64; 4];
    let mut iov = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    // SAFETY: an all-zero msghdr is a valid "no address, no control data" header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE only computes a size.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(size_of::<libc::c_int>() as u32) } as _;
    // SAFETY: `msg_control` points at `control`, at least CMSG_SPACE(4) bytes long, so the
    // first header fits in it.
    let cmsg = unsafe { libc::CMSG_FIRSTHDR(&raw const msg) };
    assert!(
        !cmsg.is_null(),
        "invariant: the control buffer holds one header"
    );
    // SAFETY: `cmsg` points at a header inside `control` (checked non-null above), with
    // room for one c_int of data after it; the data may be unaligned, so it is written so.
    unsafe {
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<libc::c_int>() as u32) as _;
        libc::CMSG_DATA(cmsg)
            .cast::<libc::c_int>()
            .write_unaligned(pass);
    }
    // SAFETY: `msg` points at `iov` (over `data`, readable) and `control`, which outlive
    // the call; the kernel only reads them.
    cvt_len(unsafe { libc::sendmsg(fd, &raw const msg, libc::MSG_NOSIGNAL) })
}

fn cvt(r: libc::c_int) -> io::Result<()> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn cvt_len(r: isize) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}
