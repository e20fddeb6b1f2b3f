//! What each task waits on, as a dump shows it: the wait records leaf futures leave in
//! their task (`eddy_wake::wait`), resolved into sockets' addresses, timers' time left and
//! the tasks on the other end.

use std::fmt;
use std::panic::Location;
use std::time::{Duration, Instant};

use eddy_executor::TaskId;
use eddy_wake::wait::{self, SENDER_USED, WaitKind, WaitRecord};

/// What one task waits on: the last leaf future (a socket operation, a timer, a
/// `JoinHandle`, a channel, ...) that returned `Pending` in its last poll, and where it was
/// awaited. From [`Dump::wait`](super::Dump::wait).
///
/// `Display` reads like the dump's line: `TcpStream::read fd 12 (127.0.0.1:5000 →
/// 127.0.0.1:41234) for 3.2s at src/conn.rs:40:27`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Wait {
    /// The operation, as users write it: `"TcpStream::read"`, `"sleep"`, `"JoinHandle"`.
    pub op: &'static str,
    /// The resource, resolved when the dump was taken.
    pub on: WaitOn,
    /// Where the future was awaited (or created, for futures made by a `#[track_caller]`
    /// function such as `TcpStream::read`).
    pub at: &'static Location<'static>,
    /// How long the task has waited: since its poll returned `Pending` on this, to within
    /// the time its worker takes for a few dozen polls.
    pub since: Duration,
}

/// The resource a [`Wait`] is on.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum WaitOn {
    /// A file descriptor's readiness, with the socket's addresses when it is one (read as
    /// the dump was taken; `None` when the system had none to give).
    Fd {
        /// The fd.
        fd: i32,
        /// The local address (`127.0.0.1:5000`, a Unix path).
        local: Option<String>,
        /// The peer's address, for a connected socket.
        peer: Option<String>,
    },
    /// A timer; `due_in` is zero once its deadline has passed (it fires at the next tick).
    Timer {
        /// Time left until the deadline, on the runtime's clock (paused or not).
        due_in: Duration,
    },
    /// Another task's completion (a `JoinHandle`, a blocking job's included).
    Task(TaskId),
    /// A value a sender will send (a `oneshot::Receiver`).
    Sender {
        /// The task holding the sender, as far as eddy can tell: the one it was last used
        /// in (`used`), or else the one it was created in; `None` if created outside tasks.
        task: Option<TaskId>,
        /// Whether the sender was used (`is_closed`, `closed`) in `task`, which shows the
        /// task holds it. A sender only created there may since have moved to another task.
        used: bool,
    },
    /// A notification anyone holding the notifier may send (`Notify`, a cancellation).
    Notify,
    /// Any of a set of tasks (`JoinSet`, `TaskGroup`).
    AnyTask {
        /// How many tasks were in the set.
        tasks: u64,
    },
    /// A signal's delivery.
    Signal(i32),
    /// A child process's exit.
    Process(u32),
    /// Something else; [`Wait::op`] names it.
    Other,
}

/// `record` as a dump shows it: `now_ms` is the wait clock now, `clock_now` the runtime's.
pub(super) fn resolve(record: &WaitRecord, now_ms: u32, clock_now: Instant) -> Wait {
    let object = record.object;
    let on = match record.op.kind() {
        WaitKind::Fd => {
            let fd = object as i32;
            let (local, peer) = eddy_net::fd_addresses(fd);
            WaitOn::Fd { fd, local, peer }
        }
        WaitKind::Timer => WaitOn::Timer {
            due_in: wait::decode_instant(object).saturating_duration_since(clock_now),
        },
        WaitKind::Task => match TaskId::try_from(object) {
            Ok(id) => WaitOn::Task(id),
            Err(_) => WaitOn::Other,
        },
        WaitKind::Sender => WaitOn::Sender {
            task: TaskId::try_from(object & !SENDER_USED).ok(),
            used: object & SENDER_USED != 0,
        },
        WaitKind::Notify => WaitOn::Notify,
        WaitKind::AnyTask => WaitOn::AnyTask { tasks: object },
        WaitKind::Signal => WaitOn::Signal(object as i32),
        WaitKind::Process => WaitOn::Process(object as u32),
        _ => WaitOn::Other,
    };
    Wait {
        op: record.op.name(),
        on,
        at: record.site,
        since: Duration::from_millis(u64::from(now_ms.wrapping_sub(record.since_ms))),
    }
}

impl Wait {
    /// The task this wait is on, if it is on exactly one: `(task, certain)`. A
    /// `JoinHandle`'s target is certain; a sender's holder is certain once the sender was
    /// used there. The dump's deadlock search follows these edges.
    pub fn waits_for(&self) -> Option<(TaskId, bool)> {
        match self.on {
            WaitOn::Task(id) => Some((id, true)),
            WaitOn::Sender {
                task: Some(id),
                used,
            } => Some((id, used)),
            _ => None,
        }
    }
}

impl fmt::Display for WaitOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitOn::Fd { fd, local, peer } => {
                write!(f, "fd {fd}")?;
                match (local, peer) {
                    (Some(l), Some(p)) => write!(f, " ({l} → {p})"),
                    (Some(l), None) => write!(f, " ({l})"),
                    (None, Some(p)) => write!(f, " (→ {p})"),
                    (None, None) => Ok(()),
                }
            }
            WaitOn::Timer { due_in } if due_in.is_zero() => write!(f, "(due now)"),
            WaitOn::Timer { due_in } => write!(f, "(due in {due_in:.1?})"),
            WaitOn::Task(id) => write!(f, "of task {id}"),
            WaitOn::Sender {
                task: Some(id),
                used: true,
            } => write!(f, "(its Sender is in task {id})"),
            WaitOn::Sender {
                task: Some(id),
                used: false,
            } => write!(f, "(its Sender was created in task {id})"),
            WaitOn::Sender { task: None, .. } => {
                write!(f, "(its Sender was created outside tasks)")
            }
            WaitOn::AnyTask { tasks } => write!(f, "({tasks} tasks)"),
            WaitOn::Signal(n) => write!(f, "(signal {n})"),
            WaitOn::Process(pid) => write!(f, "(pid {pid})"),
            WaitOn::Notify | WaitOn::Other => Ok(()),
        }
    }
}

impl fmt::Display for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = self.on.to_string();
        write!(f, "{}", self.op)?;
        if !on.is_empty() {
            write!(f, " {on}")?;
        }
        write!(f, " for {:.1?} at {}", self.since, self.at)
    }
}
