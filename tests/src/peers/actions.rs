//! What one case is made of: the peer's actions, how it ends, and how eddy reads; and the
//! proptest strategies that generate them for each socket kind.

use proptest::prelude::*;

use super::SocketKind;

/// One thing the peer does, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Stream kinds: `n` bytes with one blocking `send`/`write` loop. Datagram kinds: one
    /// datagram of `n` bytes.
    Write(usize),
    /// `send(MSG_OOB)` of `n` (≥ 1) bytes: the first `n - 1` are normal data, the last is the
    /// urgent byte (TCP; AF_UNIX where the kernel supports it).
    Oob(usize),
    /// `sendmsg` of `n` bytes with `SCM_RIGHTS` carrying one fd (a `/dev/null`), which eddy
    /// never asks for, so the kernel closes it (Unix kinds).
    WithFd(usize),
    /// The peer sleeps this many milliseconds.
    Pause(u8),
}

/// How the peer ends the case, after eddy has drained everything and passed its idle
/// check (the `tail` is written after the idle check, just before the end itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// `close`: eddy reads the tail, then end-of-stream.
    Close {
        /// Bytes written before the close.
        tail: usize,
    },
    /// `shutdown(SHUT_WR)`: eddy reads the tail, then end-of-stream, twice.
    ShutdownWrite {
        /// Bytes written before the shutdown.
        tail: usize,
    },
    /// `SO_LINGER` 0, then `close`: eddy reads a prefix of the tail, then `ConnectionReset`
    /// (or end-of-stream) (TCP).
    Reset {
        /// Bytes written before the reset.
        tail: usize,
    },
    /// The peer keeps its socket until eddy is done (datagram kinds).
    Open,
    /// UDP: the peer closes its socket before eddy's idle check; eddy sends one datagram
    /// and its next `recv` must fail with `ConnectionRefused` (the ICMP error), once.
    Refused,
}

/// How eddy reads one chunk. Sizes are buffer sizes; a kind without the API (a peek on a
/// Unix stream) uses the nearest one it has (see `eddy_side.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadOp {
    /// The inherent `read` (`recv` for datagrams).
    Read(usize),
    /// `read_exact`, with the size cut to what the model says must still arrive.
    ReadExact(usize),
    /// `peek` (`peek_from` for UDP), then a read of what it saw, which must match.
    Peek(usize),
    /// futures-io `read_vectored` into `bufs` buffers of `each` bytes.
    Vectored {
        /// How many buffers (more than `IOV_MAX`, 1,024, now and then).
        bufs: usize,
        /// The size of each.
        each: usize,
    },
    /// futures-io `read` (for TCP, through `&TcpStream` every other time).
    FuturesRead(usize),
    /// `readable().await`, then a read (`recv_from` for datagrams).
    ReadableThenRead(usize),
}

/// Which handle eddy's TCP reads go through for a whole case.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// The `TcpStream` itself.
    Whole,
    /// `split()`'s borrowed read half, taken afresh for each read.
    Split,
    /// `into_split()`'s owned read half.
    IntoSplit,
}

/// One generated case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// What the peer does, in order.
    pub actions: Vec<Action>,
    /// How the peer ends.
    pub end: End,
    /// Cycled through, one per read.
    pub reads: Vec<ReadOp>,
    /// Which TCP handle the reads use.
    pub mode: ReadMode,
    /// TCP: eddy connects (true) or accepts (false); tcp_no_inq always accepts.
    pub eddy_connects: bool,
    /// eddy reads while the peer acts (true), or starts once the peer has finished or
    /// 100 ms have passed (false). Shrinking goes to false, where what the kernel holds at
    /// each read depends less on timing, so a failure shrinks further.
    pub race: bool,
}

/// What the kernel and the run's options allow, decided once per run.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Caps {
    /// AF_UNIX `MSG_OOB` works here (Linux ≥ 5.15 with `CONFIG_AF_UNIX_OOB`).
    pub(crate) unix_oob: bool,
    /// Vectored reads may use more than `IOV_MAX` (1,024) buffers.
    pub(crate) iov_max: bool,
}

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Stream write sizes, 0 B to 1 MiB, most of them small.
fn stream_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        4 => 0..=64usize,
        3 => 65..=64 * KIB,
        1 => 64 * KIB + 1..=MIB,
    ]
}

/// Datagram sizes, 0 B to `max`.
fn dgram_size(max: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 0..=64usize,
        2 => 65..=4 * KIB,
        1 => 4 * KIB + 1..=max,
    ]
}

/// Read buffer sizes, 1 B to 1 MiB.
fn buf_size() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 1..=64usize,
        3 => 65..=16 * KIB,
        1 => 16 * KIB + 1..=MIB,
    ]
}

fn pause() -> impl Strategy<Value = Action> {
    (0..=50u8).prop_map(Action::Pause)
}

fn read_op(caps: Caps) -> impl Strategy<Value = ReadOp> {
    let bufs = if caps.iov_max {
        prop_oneof![6 => 1..=8usize, 1 => 1025..=1100usize].boxed()
    } else {
        (1..=8usize).boxed()
    };
    prop_oneof![
        buf_size().prop_map(ReadOp::Read),
        buf_size().prop_map(ReadOp::ReadExact),
        buf_size().prop_map(ReadOp::Peek),
        (bufs, 1..=4 * KIB).prop_map(|(bufs, each)| ReadOp::Vectored { bufs, each }),
        buf_size().prop_map(ReadOp::FuturesRead),
        buf_size().prop_map(ReadOp::ReadableThenRead),
    ]
}

fn dgram_read_op() -> impl Strategy<Value = ReadOp> {
    // A datagram read takes one whole datagram, so the sizes straddle the datagrams'.
    let size = prop_oneof![1 => 0..=64usize, 4 => 65 * KIB..=65 * KIB, 1 => 65..=64 * KIB];
    prop_oneof![
        size.clone().prop_map(ReadOp::Read),
        size.clone().prop_map(ReadOp::Peek),
        size.prop_map(ReadOp::ReadableThenRead),
    ]
}

/// The actions a kind's peer can take.
fn action(kind: SocketKind, caps: Caps) -> BoxedStrategy<Action> {
    let write = stream_size().prop_map(Action::Write);
    let oob = (1..=64usize).prop_map(Action::Oob);
    let fd = (1..=64 * KIB).prop_map(Action::WithFd);
    match kind {
        SocketKind::TcpInq | SocketKind::TcpNoInq => {
            prop_oneof![6 => write, 2 => oob, 1 => pause()].boxed()
        }
        SocketKind::UnixStream | SocketKind::Socketpair if caps.unix_oob => {
            prop_oneof![6 => write, 2 => oob, 2 => fd, 1 => pause()].boxed()
        }
        SocketKind::UnixStream | SocketKind::Socketpair => {
            prop_oneof![6 => write, 2 => fd, 1 => pause()].boxed()
        }
        SocketKind::Pipe => prop_oneof![6 => write, 1 => pause()].boxed(),
        SocketKind::UnixDatagram => prop_oneof![
            6 => dgram_size(64 * KIB).prop_map(Action::Write),
            2 => dgram_size(16 * KIB).prop_map(Action::WithFd),
            1 => pause(),
        ]
        .boxed(),
        SocketKind::Udp => prop_oneof![
            6 => dgram_size(60 * KIB).prop_map(Action::Write),
            1 => pause(),
        ]
        .boxed(),
    }
}

fn end(kind: SocketKind) -> BoxedStrategy<End> {
    let tail = || stream_size();
    match kind {
        SocketKind::TcpInq | SocketKind::TcpNoInq => prop_oneof![
            tail().prop_map(|tail| End::Close { tail }),
            tail().prop_map(|tail| End::ShutdownWrite { tail }),
            tail().prop_map(|tail| End::Reset { tail }),
        ]
        .boxed(),
        SocketKind::UnixStream | SocketKind::Socketpair => prop_oneof![
            tail().prop_map(|tail| End::Close { tail }),
            tail().prop_map(|tail| End::ShutdownWrite { tail }),
        ]
        .boxed(),
        SocketKind::Pipe => tail().prop_map(|tail| End::Close { tail }).boxed(),
        SocketKind::UnixDatagram => Just(End::Open).boxed(),
        SocketKind::Udp => prop_oneof![Just(End::Open), Just(End::Refused)].boxed(),
    }
}

/// Every case of `kind`: up to 12 actions, an end, up to 8 read operations.
pub(crate) fn case(kind: SocketKind, caps: Caps) -> BoxedStrategy<Case> {
    let reads = if kind.is_stream() {
        prop::collection::vec(read_op(caps), 1..=8).boxed()
    } else {
        prop::collection::vec(dgram_read_op(), 1..=8).boxed()
    };
    let mode = match kind {
        SocketKind::TcpInq | SocketKind::TcpNoInq => prop_oneof![
            Just(ReadMode::Whole),
            Just(ReadMode::Split),
            Just(ReadMode::IntoSplit)
        ]
        .boxed(),
        _ => Just(ReadMode::Whole).boxed(),
    };
    let connects = match kind {
        SocketKind::TcpInq => any::<bool>().boxed(),
        _ => Just(false).boxed(),
    };
    (
        prop::collection::vec(action(kind, caps), 0..=12),
        end(kind),
        reads,
        mode,
        connects,
        any::<bool>(),
    )
        .prop_map(|(actions, end, reads, mode, eddy_connects, race)| Case {
            actions,
            end,
            reads,
            mode,
            eddy_connects,
            race,
        })
        .boxed()
}
