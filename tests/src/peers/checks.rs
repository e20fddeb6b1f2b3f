//! The model of what must arrive, and the kernel-side checks: what the peer's bytes are,
//! whether a pending read has data waiting for it, and how much CPU the process used.

use std::os::fd::RawFd;
use std::time::Duration;

use super::actions::{Action, Case, End};

/// The urgent byte of every `MSG_OOB` send. Normal data never contains it, so a reader
/// can tell an urgent byte delivered inline from data.
pub(crate) const URGENT: u8 = 0xFF;

/// Normal stream byte number `k`: a hash of its offset, never [`URGENT`], so a byte moved,
/// lost or doubled is seen at once.
pub(crate) fn stream_byte(k: usize) -> u8 {
    (mix(k as u64) % 255) as u8
}

/// Byte `j` of datagram `i`.
pub(crate) fn dgram_byte(i: usize, j: usize) -> u8 {
    mix(((i as u64) << 32) ^ j as u64) as u8
}

fn mix(mut z: u64) -> u64 {
    // splitmix64's finaliser.
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The normal bytes of a stream case, counted: how many come before the idle check, how
/// many in the tail, and at which normal offset each urgent byte sits.
#[derive(Debug, Default)]
pub(crate) struct StreamPlan {
    pub(crate) before_idle: usize,
    pub(crate) tail: usize,
    pub(crate) urgent_at: Vec<usize>,
}

impl StreamPlan {
    pub(crate) fn of(case: &Case) -> StreamPlan {
        let mut plan = StreamPlan::default();
        for a in &case.actions {
            match *a {
                Action::Write(n) | Action::WithFd(n) => plan.before_idle += n,
                Action::Oob(n) => {
                    plan.before_idle += n - 1;
                    plan.urgent_at.push(plan.before_idle);
                }
                Action::Pause(_) => {}
            }
        }
        plan.tail = match case.end {
            End::Close { tail } | End::ShutdownWrite { tail } | End::Reset { tail } => tail,
            End::Open | End::Refused => 0,
        };
        plan
    }
}

/// Checks a stream as it arrives: every normal byte once and in order; an urgent byte
/// only where it was sent, at most once (Linux delivers an earlier urgent byte inline, or
/// drops it, when a newer `MSG_OOB` moves the mark before the reader passed it; the last
/// one stays out of band, and eddy never reads out of band).
#[derive(Debug)]
pub(crate) struct StreamCheck {
    urgent_at: Vec<usize>,
    /// Normal bytes seen so far.
    pub(crate) normal: usize,
    /// Urgent positions already consumed or passed.
    next_urgent: usize,
    /// Urgent bytes that arrived inline.
    pub(crate) inline_urgent: usize,
}

impl StreamCheck {
    pub(crate) fn new(plan: &StreamPlan) -> StreamCheck {
        StreamCheck {
            urgent_at: plan.urgent_at.clone(),
            normal: 0,
            next_urgent: 0,
            inline_urgent: 0,
        }
    }

    /// Feeds bytes read; the error says which byte broke the model.
    pub(crate) fn feed(&mut self, bytes: &[u8], limit: usize) -> Result<(), String> {
        for (at, &b) in bytes.iter().enumerate() {
            if b == URGENT {
                while self
                    .urgent_at
                    .get(self.next_urgent)
                    .is_some_and(|&p| p < self.normal)
                {
                    self.next_urgent += 1;
                }
                if self.urgent_at.get(self.next_urgent) == Some(&self.normal) {
                    self.next_urgent += 1;
                    self.inline_urgent += 1;
                    continue;
                }
                return Err(format!(
                    "an urgent byte arrived at normal offset {} (byte {at} of a read of {}), \
                     where none was sent or it had already arrived",
                    self.normal,
                    bytes.len()
                ));
            }
            if self.normal >= limit {
                return Err(format!(
                    "byte {at} of a read of {} is beyond the {limit} bytes sent so far",
                    bytes.len()
                ));
            }
            let want = stream_byte(self.normal);
            if b != want {
                return Err(format!(
                    "normal byte {} is {b:#04x}, the peer sent {want:#04x} there (byte {at} \
                     of a read of {}): data lost, doubled or reordered",
                    self.normal,
                    bytes.len()
                ));
            }
            self.normal += 1;
        }
        Ok(())
    }
}

/// Checks datagram `index` (of `len` bytes) as read into a buffer of `buf` bytes.
pub(crate) fn check_dgram(index: usize, len: usize, buf: usize, got: &[u8]) -> Result<(), String> {
    let want = len.min(buf);
    if got.len() != want {
        return Err(format!(
            "datagram {index} ({len} B) read into {buf} B came back as {} B, not {want}",
            got.len()
        ));
    }
    if let Some(j) = (0..want).find(|&j| got[j] != dgram_byte(index, j)) {
        return Err(format!(
            "datagram {index} ({len} B) differs at byte {j}: lost, doubled or reordered"
        ));
    }
    Ok(())
}

/// The datagram sizes of a datagram case, in order.
pub(crate) fn dgram_plan(case: &Case) -> Vec<usize> {
    case.actions
        .iter()
        .filter_map(|a| match *a {
            Action::Write(n) | Action::WithFd(n) | Action::Oob(n) => Some(n),
            Action::Pause(_) => None,
        })
        .collect()
}

/// How to ask the kernel whether a read of `fd` would return at once.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Probe {
    pub(crate) fd: RawFd,
    /// A socket: asked with `recv(MSG_PEEK | MSG_DONTWAIT)`. `poll` is not enough there:
    /// an AF_UNIX stream whose only queued skb is an unread `MSG_OOB` byte polls readable
    /// while `recv` returns `EAGAIN`. A pipe is asked with `poll`.
    pub(crate) socket: bool,
}

impl Probe {
    /// What the kernel holds for a reader now: `Some` with a description when a read
    /// would return at once (data, end-of-stream, an empty datagram or an error), `None`
    /// when it would wait. An urgent byte alone is not something a normal read returns.
    ///
    /// A peek that finds a pending error (`ECONNREFUSED`, `ECONNRESET`) clears it, as any
    /// read would; it runs only when a read has already waited too long.
    pub(crate) fn kernel_holds(self) -> Option<String> {
        if self.socket {
            let mut byte = [0u8; 1];
            // SAFETY: `byte` is one writable byte for the call; MSG_PEEK leaves the
            // queue as it is, MSG_DONTWAIT keeps the call from blocking.
            let r = unsafe {
                libc::recv(
                    self.fd,
                    byte.as_mut_ptr().cast(),
                    1,
                    libc::MSG_PEEK | libc::MSG_DONTWAIT,
                )
            };
            match r {
                1.. => Some(format!("data ({})", fionread(self.fd))),
                0 => Some("end-of-stream (or an empty datagram)".to_owned()),
                _ => {
                    let e = std::io::Error::last_os_error();
                    match e.kind() {
                        std::io::ErrorKind::WouldBlock => None,
                        _ => Some(format!("the error {e}")),
                    }
                }
            }
        } else {
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: `pfd` is one valid, writable pollfd; the timeout is zero.
            let r = unsafe { libc::poll(&mut pfd, 1, 0) };
            (r > 0 && pfd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0).then(
                || {
                    format!(
                        "data or end-of-file ({}, revents {:#x})",
                        fionread(self.fd),
                        pfd.revents
                    )
                },
            )
        }
    }
}

fn fionread(fd: RawFd) -> String {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which is valid and writable.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) } == 0 {
        format!("FIONREAD {n}")
    } else {
        "FIONREAD unknown".to_owned()
    }
}

/// CPU time (user + system) this process has used, over all its threads.
pub(crate) fn cpu_time() -> Duration {
    // SAFETY: rusage is plain old data; all-zero is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage; RUSAGE_SELF cannot fail.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1_000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Whether AF_UNIX stream sockets take `MSG_OOB` here (Linux ≥ 5.15 built with
/// `CONFIG_AF_UNIX_OOB`); elsewhere `send` fails with `EOPNOTSUPP`.
pub(crate) fn unix_oob_supported() -> bool {
    let Ok((a, _b)) = std::os::unix::net::UnixStream::pair() else {
        return false;
    };
    use std::os::fd::AsRawFd;
    // SAFETY: one readable byte from a live array; `a` is an open socket.
    let n = unsafe { libc::send(a.as_raw_fd(), [URGENT].as_ptr().cast(), 1, libc::MSG_OOB) };
    n == 1
}
