//! Debug mode, task dumps and metrics: the runtime tells you what it is doing.
//!
//! - **Debug mode** (asyncio's `asyncio.run(main(), debug=True)`): on with
//!   [`Builder::debug`](crate::Builder::debug) or `EDDY_DEBUG=1`. A watchdog thread reports
//!   a poll that runs past the threshold (100 ms by default, like asyncio's
//!   `slow_callback_duration`; [`Builder::slow_poll_threshold`](crate::Builder::slow_poll_threshold)
//!   or `EDDY_SLOW_POLL_MS`) **while it is still running**, with the task's id, name, spawn
//!   location and thread, then once more when it ends. A `block_on` called inside a task is
//!   reported with its call site; at shutdown every task still pending is listed, and those
//!   nothing can wake any more are flagged as lost wakes.
//! - **Task dump**: [`Handle::dump`](crate::Handle::dump) lists every live task as a tree
//!   (who spawned whom), from any thread, at any time; `EDDY_DUMP_ON_SIGNAL=1` or
//!   [`Runtime::dump_on`](crate::Runtime::dump_on) prints it on `SIGUSR1`.
//! - **Metrics**: [`Handle::metrics`](crate::Handle::metrics): the scheduler's, the blocking
//!   pool's, the timers' and the reactor's counters.
//!
//! `docs/debugging.md` explains every line these print and what each costs.

mod dump;
mod json;
mod wait;

use std::sync::Once;
use std::time::Duration;

/// Where a runtime sends its shutdown listing (`Builder::on_pending_at_shutdown`).
pub(crate) type PendingHook = std::sync::Arc<dyn Fn(&Dump) + Send + Sync>;

pub use eddy_executor::blocking::BlockingMetrics;
pub use eddy_executor::debug::{DEFAULT_SLOW_POLL_THRESHOLD, Frame, NativeStack};
pub use eddy_executor::{SchedulerMetrics, SlowPoll, TaskId, TaskInfo, TaskState, WorkerMetrics};
pub use eddy_net::IoMetrics;
pub use eddy_timer::TimerMetrics;

pub use dump::{Deadlock, Dump};
pub use json::{DumpData, JsonError, SiteData, TaskData, WaitData};
pub use wait::{Wait, WaitOn};

/// Everything a runtime counts: from [`Handle::metrics`](crate::Handle::metrics).
///
/// Each part is read on its own (no global lock), so parts read together may be a few
/// operations apart.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Metrics {
    /// Workers, tasks, polls, steals, parks, unparks, queue depths, slow polls.
    pub scheduler: SchedulerMetrics,
    /// Blocking-pool threads busy and idle, and jobs queued.
    pub blocking: BlockingMetrics,
    /// Timers live and fired, and how late they fired.
    pub timers: TimerMetrics,
    /// I/O resources registered, reactor turns and events per turn.
    pub io: IoMetrics,
}

/// Debug-mode settings resolved from the builder and the environment.
pub(crate) struct Settings {
    pub(crate) enabled: bool,
    pub(crate) threshold: Duration,
    pub(crate) dump_signal: Option<libc::c_int>,
}

/// Reads `EDDY_DEBUG`, `EDDY_SLOW_POLL_MS` and `EDDY_DUMP_ON_SIGNAL` over the builder's
/// choices. An invalid value is reported once per process on stderr and ignored.
pub(crate) fn settings(debug: bool, threshold: Duration) -> Settings {
    static WARNED: [Once; 3] = [Once::new(), Once::new(), Once::new()];
    let warn = |i: usize, msg: String| WARNED[i].call_once(|| eprintln!("eddy: {msg}"));
    let var = |name: &str| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned());
    let enabled = match var("EDDY_DEBUG").as_deref().map(str::trim) {
        None | Some("" | "0") => debug,
        Some("1") => true,
        Some(other) => {
            warn(
                0,
                format!(
                    "EDDY_DEBUG={other:?} is not 0 or 1; ignoring it (debug mode is {})",
                    if debug { "on" } else { "off" }
                ),
            );
            debug
        }
    };
    let threshold = match var("EDDY_SLOW_POLL_MS") {
        None => threshold,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => {
                warn(
                    1,
                    format!(
                        "EDDY_SLOW_POLL_MS={v:?} is not a whole number of milliseconds; \
                         using {threshold:?}"
                    ),
                );
                threshold
            }
        },
    };
    let dump_signal = match var("EDDY_DUMP_ON_SIGNAL") {
        None => None,
        Some(v) => match parse_signal(&v) {
            Ok(signal) => signal,
            Err(()) => {
                warn(
                    2,
                    format!(
                        "EDDY_DUMP_ON_SIGNAL={v:?} is not 0, 1 (SIGUSR1) or a signal name such \
                         as USR2; ignoring it"
                    ),
                );
                None
            }
        },
    };
    Settings {
        enabled,
        threshold,
        dump_signal,
    }
}

/// `0`/empty: off; `1`: `SIGUSR1`; a name (`USR2`, `SIGUSR2`) or a number.
fn parse_signal(v: &str) -> Result<Option<libc::c_int>, ()> {
    let v = v.trim();
    match v {
        "" | "0" => return Ok(None),
        "1" => return Ok(Some(libc::SIGUSR1)),
        _ => {}
    }
    let upper = v.to_ascii_uppercase();
    let signal = match upper.strip_prefix("SIG").unwrap_or(&upper) {
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "HUP" => libc::SIGHUP,
        "QUIT" => libc::SIGQUIT,
        "WINCH" => libc::SIGWINCH,
        _ => v.parse::<libc::c_int>().map_err(|_| ())?,
    };
    Ok(Some(signal))
}

#[cfg(test)]
mod tests {
    use super::parse_signal;

    #[test]
    fn signal_values() {
        assert_eq!(parse_signal("1"), Ok(Some(libc::SIGUSR1)));
        assert_eq!(parse_signal(" 0 "), Ok(None));
        assert_eq!(parse_signal("USR2"), Ok(Some(libc::SIGUSR2)));
        assert_eq!(parse_signal("sigusr2"), Ok(Some(libc::SIGUSR2)));
        assert_eq!(parse_signal("SIGHUP"), Ok(Some(libc::SIGHUP)));
        assert_eq!(parse_signal("12"), Ok(Some(12)));
        assert_eq!(parse_signal("yes"), Err(()));
    }
}
