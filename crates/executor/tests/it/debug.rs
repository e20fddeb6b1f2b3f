//! Debug mode (slow-poll watchdog, sampled busy time), the task tree and lost wakes in
//! snapshots, and scheduler metrics.

use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use eddy_executor::{
    CurrentThread, DebugConfig, MultiThread, SlowPoll, TaskBuilder, TaskState, current_task_id,
};

/// Generous bound for "this must happen": a hang fails the test instead of stalling CI.
const PATIENCE: Duration = Duration::from_secs(20);

fn debug_to(tx: mpsc::Sender<SlowPoll>, threshold: Duration) -> DebugConfig {
    let tx = Mutex::new(tx);
    DebugConfig::new()
        .slow_poll_threshold(threshold)
        .on_slow_poll(Arc::new(move |r: &SlowPoll| {
            let _ = tx.lock().unwrap().send(r.clone());
        }))
}

#[test]
fn watchdog_reports_a_slow_poll_while_it_runs_and_again_when_it_ends() {
    let (tx, reports) = mpsc::channel();
    let rt = MultiThread::builder()
        .worker_threads(1)
        .debug(debug_to(tx, Duration::from_millis(20)))
        .build();
    // The task blocks its worker until the first report reaches it: if the watchdog only
    // reported after the poll ended (as asyncio does), this would time out.
    let (seen_tx, seen_rx) = mpsc::channel::<SlowPoll>();
    let seen_rx = Mutex::new(seen_rx);
    let (handle, stuck) = (rt.handle(), TaskBuilder::new().name("stuck"));
    let line = line!() + 1;
    let task = handle.spawn_with(stuck, async move {
        seen_rx.lock().unwrap().recv_timeout(PATIENCE).is_ok()
    });
    let first = reports.recv_timeout(PATIENCE).expect("no slow-poll report");
    assert!(!first.finished);
    assert_eq!(first.task, task.id());
    assert_eq!(first.name.as_deref(), Some("stuck"));
    assert_eq!(
        (first.location.file(), first.location.line()),
        (file!(), line)
    );
    assert_eq!(first.thread, "eddy-worker-0");
    assert!(first.elapsed >= Duration::from_millis(20), "{first}");
    // The dump shows the task in its slow poll while it is stuck.
    let info = rt.tasks().into_iter().find(|t| t.id == task.id()).unwrap();
    assert_eq!(info.state, TaskState::SlowPoll);
    let text = first.to_string();
    assert!(
        text.contains("slow poll: task") && text.contains("\"stuck\""),
        "{text}"
    );
    assert!(text.contains(&format!("{}:{line}", file!())), "{text}");
    seen_tx.send(first.clone()).unwrap();
    assert!(
        rt.block_on(task).unwrap(),
        "the task did not see the report while blocked"
    );
    let last = reports
        .recv_timeout(PATIENCE)
        .expect("no end-of-poll report");
    assert!(last.finished);
    assert_eq!(last.task, first.task);
    assert!(last.elapsed >= first.elapsed, "{last} after {first}");
    assert!(last.to_string().contains("slow poll ended"), "{last}");
    assert_eq!(rt.metrics().slow_polls, 1);
}

#[test]
fn quick_polls_are_not_reported_and_slow_ones_are_charged_busy_time() {
    let (tx, reports) = mpsc::channel();
    let rt = CurrentThread::builder()
        .debug(debug_to(tx, Duration::from_secs(3600)))
        .build();
    // Nothing here runs past the hour-long threshold.
    let spinner = rt.spawn(async {
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(20) {
            std::hint::spin_loop();
        }
    });
    let idle = rt.spawn(std::future::pending::<()>());
    let quick = rt.spawn(async {
        for _ in 0..1000 {
            eddy_executor::yield_now().await;
        }
    });
    rt.block_on(async {
        quick.await.unwrap();
        spinner.await.unwrap();
    });
    let infos = rt.tasks();
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].id, idle.id());
    assert_eq!(infos[0].busy, Some(Duration::ZERO));
    assert!(reports.try_recv().is_err(), "nothing ran past an hour");
    // Busy time: a task spins in one poll until the watchdog has reported it (so at least
    // one tick fell inside the poll), then waits forever; the tick is charged to it.
    let (tx, reports) = mpsc::channel();
    let rt = CurrentThread::builder()
        .debug(debug_to(tx, Duration::from_millis(20)))
        .build();
    let busy = rt.spawn(async move {
        let deadline = Instant::now() + PATIENCE;
        while reports.try_recv().is_err() {
            assert!(Instant::now() < deadline, "no slow-poll report");
            std::hint::spin_loop();
        }
        std::future::pending::<()>().await;
    });
    rt.block_on(eddy_executor::yield_now());
    let info = rt.tasks().into_iter().find(|t| t.id == busy.id()).unwrap();
    assert_eq!(info.polls, 1);
    assert!(info.busy.unwrap() > Duration::ZERO, "{info:?}");
}

#[test]
fn snapshots_know_each_tasks_parent_and_age() {
    let rt = CurrentThread::new();
    let (parent_id, child_id) = rt.block_on(async {
        let parent = eddy_executor::current_thread::spawn_local(async {
            let me = current_task_id().unwrap();
            let child = eddy_executor::current_thread::spawn_local(std::future::pending::<()>());
            (me, child.id())
        });
        parent.await.unwrap()
    });
    let infos = rt.tasks();
    let child = infos.iter().find(|t| t.id == child_id).unwrap();
    assert_eq!(child.parent, Some(parent_id));
    assert!(child.age < Duration::from_secs(3600));
    let root = rt.spawn(async {});
    assert_eq!(
        rt.tasks()
            .iter()
            .find(|t| t.id == root.id())
            .unwrap()
            .parent,
        None
    );
    rt.block_on(root).unwrap();
}

/// Returns `Pending` once without keeping the waker: nobody can wake the task again.
struct DropsItsWaker;

impl Future for DropsItsWaker {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

/// Returns `Pending` and parks its waker where a test can reach it.
struct KeepsItsWaker(Arc<Mutex<Option<Waker>>>);

impl Future for KeepsItsWaker {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.0.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn a_task_whose_wakers_are_all_gone_is_a_lost_wake() {
    let rt = MultiThread::new(2);
    let slot = Arc::new(Mutex::new(None));
    let lost = rt.spawn(DropsItsWaker);
    let kept = rt.spawn(KeepsItsWaker(slot.clone()));
    let deadline = Instant::now() + PATIENCE;
    let infos = loop {
        let infos = rt.tasks();
        if infos
            .iter()
            .all(|t| t.polls == 1 && t.state == TaskState::Idle)
        {
            break infos;
        }
        assert!(
            Instant::now() < deadline,
            "tasks never went idle: {infos:?}"
        );
        std::thread::yield_now();
    };
    let get = |id| infos.iter().find(|t| t.id == id).unwrap();
    assert!(get(lost.id()).lost_wake);
    assert!(!get(kept.id()).lost_wake);
    // Dropping the kept waker makes that task a lost wake too.
    slot.lock().unwrap().take();
    assert!(rt.tasks().iter().all(|t| t.lost_wake));
    // An aborted task is not reported as lost: abort is on its way.
    lost.abort();
    assert!(rt.block_on(lost).unwrap_err().is_cancelled());
}

#[test]
fn metrics_count_a_known_workload() {
    let rt = CurrentThread::new();
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            rt.spawn(async {
                for _ in 0..3 {
                    eddy_executor::yield_now().await;
                }
            })
        })
        .collect();
    let m = rt.metrics();
    assert_eq!((m.spawned, m.live_tasks, m.polls), (10, 10, 0));
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    let m = rt.metrics();
    assert_eq!(m.workers, 1);
    assert_eq!((m.spawned, m.live_tasks), (10, 0));
    assert_eq!(
        m.polls, 40,
        "each task polls four times: three yields and the end"
    );
    assert_eq!(m.per_worker[0].polls, 40);

    let rt = MultiThread::new(2);
    let h = rt.handle();
    rt.block_on(async move {
        let tasks: Vec<_> = (0..100)
            .map(|_| h.spawn(async { eddy_executor::yield_now().await }))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let m = rt.metrics();
    assert_eq!((m.workers, m.spawned, m.live_tasks), (2, 100, 0));
    assert_eq!(m.polls, 200);
    assert_eq!(m.per_worker.iter().map(|w| w.polls).sum::<u64>(), 200);
    assert_eq!(m.slow_polls, 0);
}

#[test]
fn a_block_on_nested_in_a_poll_of_the_same_runtime_leaves_the_outer_poll_watched() {
    let (tx, reports) = mpsc::channel();
    let rt = Arc::new(
        MultiThread::builder()
            .worker_threads(2)
            .debug(debug_to(tx, Duration::from_millis(50)))
            .build(),
    );
    // On a worker: the task's poll holds the worker's slot; the inner main is not observed.
    let inner_rt = rt.clone();
    let in_task = rt.spawn(async move {
        let task = current_task_id();
        let main = inner_rt.block_on(async { current_task_id() });
        (task, main)
    });
    let (task, main) = rt.block_on(in_task).unwrap();
    assert!(main.is_some() && main != task, "{task:?} {main:?}");
    // In a main future: the inner main is listed, under the outer one, but the slow poll
    // reported is the outer one's, which is what holds the thread.
    let (outer, inner, parent, report) = rt.block_on(async {
        let outer = current_task_id().unwrap();
        let (inner, parent, report) = rt.block_on(async {
            let inner = current_task_id().unwrap();
            let parent = rt.tasks().into_iter().find(|t| t.id == inner).unwrap();
            let deadline = Instant::now() + PATIENCE;
            let report = loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let r = reports.recv_timeout(left).expect("no slow-poll report");
                if !r.finished && (r.task == outer || r.task == inner) {
                    break r;
                }
            };
            (inner, parent.parent, report)
        });
        (outer, inner, parent, report)
    });
    assert_ne!(outer, inner);
    assert_eq!(parent, Some(outer));
    assert_eq!(report.task, outer, "{report}");
    assert_eq!(report.name.as_deref(), Some("main"), "{report}");
    assert!(rt.tasks().is_empty());
}

/// Regression: a thread whose slow poll ended and which then exited while the watchdog was
/// in the middle of a scan (after it had checked that thread's slot, before the scan
/// forgot the slots of exited threads) never got its end report, and its task stayed in
/// the slow list for good: the scan saw the thread gone and forgot its slot without
/// reading it again. The hook holds the watchdog in that window (it runs from the check)
/// until the thread is gone. Found by the loom model
/// `debug::loom_tests::stop_ends_the_watchdog_after_a_final_scan`.
#[test]
fn a_slow_poll_whose_thread_exits_mid_scan_still_gets_its_end_report() {
    let (tx, reports) = mpsc::channel();
    let (seen_tx, seen_rx) = mpsc::channel::<()>();
    let (gone_tx, gone_rx) = mpsc::channel::<()>();
    let hook = {
        let (tx, seen_tx, gone_rx) = (Mutex::new(tx), Mutex::new(seen_tx), Mutex::new(gone_rx));
        move |r: &SlowPoll| {
            let _ = tx.lock().unwrap().send(r.clone());
            if !r.finished {
                let _ = seen_tx.lock().unwrap().send(());
                let _ = gone_rx.lock().unwrap().recv_timeout(PATIENCE);
            }
        }
    };
    let rt = Arc::new(
        MultiThread::builder()
            .worker_threads(1)
            .debug(
                DebugConfig::new()
                    .slow_poll_threshold(Duration::from_millis(20))
                    .on_slow_poll(Arc::new(hook)),
            )
            .build(),
    );
    // A `block_on` caller's main future is watched in a slot of the caller's thread; it
    // blocks until it is reported, then returns, and the thread exits.
    let caller = {
        let rt = rt.clone();
        std::thread::spawn(move || rt.block_on(async move { seen_rx.recv_timeout(PATIENCE) }))
    };
    let first: SlowPoll = reports.recv_timeout(PATIENCE).expect("no slow-poll report");
    assert!(!first.finished, "{first}");
    assert!(
        caller.join().unwrap().is_ok(),
        "the main future saw its report"
    );
    gone_tx.send(()).unwrap();
    let last = reports
        .recv_timeout(PATIENCE)
        .expect("no end-of-poll report for a thread that exited");
    assert!(
        last.finished && last.task == first.task,
        "{last} after {first}"
    );
}

/// Whether a test may insist on a native stack. Native stacks need the `native-stacks`
/// feature and Linux; under an emulator (`cargo xtask cross --run` sets `EDDY_TEST_RUNNER`
/// for qemu-user, which delivers signals to emulated threads its own way) a report may
/// carry none, so there only the stack assertions are skipped, and the rest still runs.
fn stacks_expected() -> bool {
    cfg!(all(feature = "native-stacks", target_os = "linux"))
        && std::env::var_os("EDDY_TEST_RUNNER").is_none_or(|r| r.is_empty())
}

/// Asserts that `report` carries a stack whose first user frame is `file:line`.
/// The line of the `std::thread::sleep` in [`block_until`]: the line a stack must name.
const BLOCKING_LINE: u32 = line!() + 8;

/// Blocks the poll that calls it, the way a blocking call in async code does, until
/// `release` is set (or `PATIENCE` runs out). Not inlined, so it has a frame of its own.
#[inline(never)]
fn block_until(release: &std::sync::atomic::AtomicBool) {
    let deadline = Instant::now() + PATIENCE;
    while !release.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn assert_stack_names(report: &SlowPoll, file: &str, line: u32) {
    if !stacks_expected() {
        eprintln!("native stack not asserted on this target: {report}");
        return;
    }
    let stack = report
        .stack
        .as_ref()
        .unwrap_or_else(|| panic!("no native stack in {report}"));
    let user = stack
        .user_frame()
        .unwrap_or_else(|| panic!("no user frame in {report}"));
    assert!(
        user.file.as_deref().is_some_and(|f| f.ends_with(file)) && user.line == Some(line),
        "the first user frame is {user:?}, not {file}:{line}, in {report}"
    );
    // The frames above it are the sleep's, in std and libc: the handler's own are gone.
    let above = &stack.frames[..stack.user_index.unwrap()];
    assert!(
        above.iter().any(|f| f
            .function
            .as_deref()
            .is_some_and(|n| n.starts_with("std::") && n.ends_with("::sleep"))),
        "std::thread::sleep is not above the user frame in {report}"
    );
    assert!(
        !stack.frames.iter().any(|f| f
            .function
            .as_deref()
            .is_some_and(|n| n.contains("on_signal") || n.starts_with("backtrace::"))),
        "the capture's own frames are left in {report}"
    );
    let text = report.to_string();
    assert!(
        text.contains("=> ") && text.contains(&format!("debug.rs:{line}")),
        "{text}"
    );
}

#[test]
fn a_slow_poll_report_carries_the_stack_down_to_the_blocking_line() {
    let (tx, reports) = mpsc::channel();
    let rt = MultiThread::builder()
        .worker_threads(1)
        .debug(debug_to(tx, Duration::from_millis(20)))
        .build();
    let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let release = released.clone();
    let task = rt.spawn(async move { block_until(&release) });
    let first = reports.recv_timeout(PATIENCE).expect("no slow-poll report");
    released.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(!first.finished, "{first}");
    assert_stack_names(&first, file!(), BLOCKING_LINE);
    rt.block_on(task).unwrap();
    let last = reports.recv_timeout(PATIENCE).expect("no end report");
    assert!(last.finished && last.stack.is_none(), "{last}");
}

#[test]
fn a_slow_main_future_report_carries_the_stack_down_to_the_blocking_line() {
    let (tx, reports) = mpsc::channel::<SlowPoll>();
    let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let release = released.clone();
    let tx = Mutex::new(tx);
    let rt = CurrentThread::builder()
        .debug(
            DebugConfig::new()
                .slow_poll_threshold(Duration::from_millis(20))
                .on_slow_poll(Arc::new(move |r: &SlowPoll| {
                    released.store(true, std::sync::atomic::Ordering::SeqCst);
                    let _ = tx.lock().unwrap().send(r.clone());
                })),
        )
        .build();
    rt.block_on(async move { block_until(&release) });
    let first = reports.recv_timeout(PATIENCE).expect("no slow-poll report");
    assert!(!first.finished, "{first}");
    assert_eq!(first.name.as_deref(), Some("main"));
    assert_stack_names(&first, file!(), BLOCKING_LINE);
}

#[test]
fn a_thread_that_blocks_the_signal_is_reported_without_a_stack_and_without_a_hang() {
    let (tx, reports) = mpsc::channel();
    let rt = MultiThread::builder()
        .worker_threads(1)
        .debug(debug_to(tx, Duration::from_millis(20)))
        .build();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    let started = Instant::now();
    let task = rt.spawn(async move {
        // Every signal blocked (the capture's among them) while the poll is slow, then the
        // old mask back: the pending capture signal arrives late, after the watchdog gave
        // up, and must find nothing to do.
        // SAFETY: a zeroed sigset is a valid value, filled by `sigfillset` below.
        let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: as above; `pthread_sigmask` overwrites it.
        let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointers to sigsets owned by this frame.
        unsafe {
            libc::sigfillset(&mut all);
            assert_eq!(libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old), 0);
        }
        let released = release_rx.lock().unwrap().recv_timeout(PATIENCE).is_ok();
        // SAFETY: `old` is the mask saved above.
        unsafe {
            assert_eq!(
                libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()),
                0
            );
        }
        released
    });
    let first = reports.recv_timeout(PATIENCE).expect("no slow-poll report");
    let waited = started.elapsed();
    assert!(!first.finished, "{first}");
    assert!(
        first.stack.is_none(),
        "a stack from a thread that blocks the signal: {first}"
    );
    // The threshold, a tick and the watchdog's bounded wait for an answer (50 ms), with a
    // wide margin for a loaded machine: the point is that it is not `PATIENCE`.
    assert!(
        waited < Duration::from_secs(5),
        "the report took {waited:?}"
    );
    release_tx.send(()).unwrap();
    assert!(rt.block_on(task).unwrap(), "released only after the report");
    let last = reports.recv_timeout(PATIENCE).expect("no end report");
    assert!(last.finished, "{last}");
    // The same worker, signals unblocked, the late signal handled: the next slow poll has
    // its stack again (the buffer the late handler could have written is usable).
    let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let release = released.clone();
    let task = rt.spawn(async move { block_until(&release) });
    let again = reports.recv_timeout(PATIENCE).expect("no second report");
    released.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(!again.finished, "{again}");
    assert_stack_names(&again, file!(), BLOCKING_LINE);
    rt.block_on(task).unwrap();
}
