//! The future given to `block_on` (`eddy::run`'s `main`) is a task like the others, on both
//! flavours: it has an id and the name "main", debug mode watches its polls, and dumps list
//! it, with the tasks it spawns under it, for as long as `block_on` runs.

use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use eddy::debug::{SlowPoll, TaskState};
use eddy::{Builder, Handle, Runtime};

/// Generous bound for "this must happen": a hang fails the test instead of stalling CI.
const PATIENCE: Duration = Duration::from_secs(20);

fn flavor(multi: bool) -> Builder {
    if multi {
        Runtime::builder().multi_thread().worker_threads(2)
    } else {
        Runtime::builder().current_thread()
    }
}

fn slow_poll_in_main_is_reported(multi: bool) {
    let (tx, reports) = mpsc::channel::<SlowPoll>();
    let tx = Mutex::new(tx);
    let rt = flavor(multi)
        .debug(true)
        .slow_poll_threshold(Duration::from_millis(50))
        .on_slow_poll(move |r| {
            let _ = tx.lock().unwrap().send(r.clone());
        })
        .build()
        .unwrap();
    let line = line!() + 1;
    let (report, me, state, reports) = rt.block_on(async move {
        // Block main's poll until the watchdog has reported it: the report must come while
        // the poll still runs.
        let report = reports.recv_timeout(PATIENCE);
        let me = eddy::task::id();
        let state = me.and_then(|me| {
            let tasks = Handle::current().tasks();
            tasks.into_iter().find(|t| t.id == me).map(|t| t.state)
        });
        (report, me, state, reports)
    });
    let report = report.expect("no slow-poll report for a blocking main future");
    assert!(!report.finished, "{report}");
    assert_eq!(Some(report.task), me, "{report}");
    assert_eq!(report.name.as_deref(), Some("main"), "{report}");
    assert_eq!(
        (report.location.file(), report.location.line()),
        (file!(), line),
        "{report}"
    );
    assert_eq!(
        Some(report.thread.as_str()),
        std::thread::current().name(),
        "main runs on the thread that called block_on"
    );
    assert_eq!(state, Some(TaskState::SlowPoll));
    let end = reports
        .recv_timeout(PATIENCE)
        .expect("no end-of-poll report");
    assert!(end.finished && end.task == report.task, "{end}");
    assert_eq!(end.name.as_deref(), Some("main"), "{end}");
    assert_eq!(rt.handle().metrics().scheduler.slow_polls, 1);
}

#[test]
fn a_slow_poll_in_main_is_reported_current_thread() {
    slow_poll_in_main_is_reported(false);
}

#[test]
fn a_slow_poll_in_main_is_reported_multi_thread() {
    slow_poll_in_main_is_reported(true);
}

fn main_has_an_id_and_parents_its_tasks(multi: bool) {
    let rt = flavor(multi).build().unwrap();
    let line = line!() + 1;
    rt.block_on(async {
        let me = eddy::task::id().expect("eddy::task::id() is None in the main future");
        let child = eddy::spawn(std::future::pending::<()>());
        eddy::yield_now().await;
        let tasks = Handle::current().tasks();
        let info = tasks.iter().find(|t| t.id == child.id()).unwrap();
        assert_eq!(info.parent, Some(me));
        let main = tasks.iter().find(|t| t.id == me).expect("main in tasks()");
        assert_eq!(main.name.as_deref(), Some("main"));
        assert_eq!(
            (main.location.file(), main.location.line()),
            (file!(), line)
        );
        assert_eq!(main.state, TaskState::Running);
        assert!(main.polls >= 1, "the poll before the yield: {main:?}");
        assert_eq!(main.parent, None);
        assert_eq!(main.busy, None, "busy time is sampled in debug mode only");
        assert!(!main.lost_wake && !main.cancelled, "{main:?}");
        // Counts of spawned tasks leave main out.
        let m = Handle::current().metrics().scheduler;
        assert_eq!((m.spawned, m.live_tasks), (1, 1));
        child.abort();
    });
}

#[test]
fn main_has_an_id_and_parents_its_tasks_current_thread() {
    main_has_an_id_and_parents_its_tasks(false);
}

#[test]
fn main_has_an_id_and_parents_its_tasks_multi_thread() {
    main_has_an_id_and_parents_its_tasks(true);
}

#[test]
fn eddy_run_names_main_after_its_callers_line() {
    let line = line!() + 1;
    let main = eddy::run(async {
        let tasks = Handle::current().tasks();
        tasks
            .into_iter()
            .find(|t| t.name.as_deref() == Some("main"))
    });
    let main = main.expect("main in tasks()");
    assert_eq!(
        (main.location.file(), main.location.line()),
        (file!(), line)
    );
}

fn the_dump_is_a_tree_rooted_at_main(multi: bool) {
    let rt = flavor(multi).build().unwrap();
    rt.block_on(async {
        let h = Handle::current();
        let named = h.spawn_named("child-a", std::future::pending::<()>());
        let parent = eddy::spawn(async {
            let _grandchild = eddy::spawn(std::future::pending::<()>());
            std::future::pending::<()>().await;
        });
        // Let `parent` run up to spawning its child.
        while !h.tasks().iter().any(|t| t.parent == Some(parent.id())) {
            eddy::sleep(Duration::from_millis(1)).await;
        }
        let dump = h.dump();
        let main = dump
            .tasks()
            .iter()
            .find(|t| t.name.as_deref() == Some("main"))
            .unwrap_or_else(|| panic!("no main in the dump:\n{dump}"));
        assert_eq!(dump.len(), 4, "main, two children, a grandchild:\n{dump}");
        let text = dump.to_string();
        let lines: Vec<&str> = text.lines().collect();
        // Header, column titles, then main: the one root, its children under it.
        assert!(
            lines[2].starts_with(&format!("{} ", main.id))
                && lines[2].contains("\"main\"")
                && lines[2].contains("running"),
            "{text}"
        );
        let line_of = |id: eddy::task::TaskId| {
            lines
                .iter()
                .find(|l| {
                    l.trim_start_matches([' ', '├', '└', '─'])
                        .starts_with(&format!("{id} "))
                })
                .unwrap_or_else(|| panic!("no line for {id}:\n{text}"))
        };
        let (a, p) = (line_of(named.id()), line_of(parent.id()));
        assert!(a.starts_with("├─ ") || a.starts_with("└─ "), "{text}");
        assert!(p.starts_with("├─ ") || p.starts_with("└─ "), "{text}");
        assert!(a.contains("\"child-a\""), "{text}");
        assert!(
            lines[5].starts_with("   └─ "),
            "the grandchild, under parent:\n{text}"
        );
        named.abort();
        parent.abort();
    });
}

#[test]
fn the_dump_is_a_tree_rooted_at_main_current_thread() {
    the_dump_is_a_tree_rooted_at_main(false);
}

#[test]
fn the_dump_is_a_tree_rooted_at_main_multi_thread() {
    the_dump_is_a_tree_rooted_at_main(true);
}

fn main_is_gone_when_block_on_returns(multi: bool) {
    let rt = flavor(multi).debug(true).build().unwrap();
    let first = rt.block_on(async { eddy::task::id() });
    let second = rt.block_on(async { eddy::task::id() });
    let (first, second) = (
        first.expect("the first main has no id"),
        second.expect("the second main has no id"),
    );
    assert_ne!(first, second, "each block_on runs a main task of its own");
    assert!(rt.handle().tasks().is_empty(), "{}", rt.handle().dump());
    // A main that panics leaves too, and the next block_on is watched as usual.
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { panic!("main failed") })
    }));
    assert!(panicked.is_err());
    assert!(rt.handle().tasks().is_empty(), "{}", rt.handle().dump());
    let third = rt.block_on(async {
        let me = eddy::task::id();
        let tasks = Handle::current().tasks();
        (me, tasks.len())
    });
    assert_eq!((third.0.is_some(), third.1), (true, 1));
}

#[test]
fn main_is_gone_when_block_on_returns_current_thread() {
    main_is_gone_when_block_on_returns(false);
}

#[test]
fn main_is_gone_when_block_on_returns_multi_thread() {
    main_is_gone_when_block_on_returns(true);
}
