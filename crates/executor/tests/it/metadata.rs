//! Task metadata: ids, names, spawn locations, poll counts and busy time.

use eddy_executor::{CurrentThread, TaskBuilder, TaskState};

use crate::support::{Gate, yield_times};

#[test]
fn snapshot_lists_live_tasks_with_metadata() {
    let rt = CurrentThread::new();
    let gate = Gate::default();
    let (named, wait) = (TaskBuilder::new().name("worker-a"), gate.clone().wait());
    let line = line!() + 1;
    let a = rt.spawn_local_with(named, wait);
    let b = rt.spawn(async {
        yield_times(3).await;
        std::future::pending::<()>().await
    });
    assert_ne!(a.id(), b.id());
    // The run queue is FIFO: awaiting a task spawned last gives every queued task a turn.
    for _ in 0..5 {
        rt.block_on(rt.spawn(async {})).unwrap();
    }
    let mut tasks = rt.tasks();
    tasks.sort_by_key(|t| t.id);
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0].id, a.id());
    assert_eq!(tasks[0].name.as_deref(), Some("worker-a"));
    assert_eq!(tasks[0].location.file(), file!());
    assert_eq!(tasks[0].location.line(), line);
    assert_eq!(tasks[0].state, TaskState::Idle);
    assert_eq!(tasks[0].polls, 1);
    assert_eq!(tasks[1].name, None);
    assert_eq!(tasks[1].polls, 4);
    assert_eq!(
        tasks[1].busy, None,
        "busy time is sampled in debug mode only"
    );
    assert_eq!(tasks[0].parent, None);
    gate.open();
    rt.block_on(a).unwrap();
    assert_eq!(rt.tasks().len(), 1);
    b.abort();
    assert!(rt.block_on(b).unwrap_err().is_cancelled());
    assert!(rt.tasks().is_empty());
}

#[test]
fn scheduled_tasks_show_as_scheduled() {
    let rt = CurrentThread::new();
    let h = rt.spawn(async {});
    assert_eq!(rt.tasks()[0].state, TaskState::Scheduled);
    assert!(!h.is_finished());
    rt.block_on(h).unwrap();
}

#[test]
fn block_on_lists_its_future_as_the_main_task() {
    let rt = CurrentThread::new();
    let line = line!() + 1;
    let (me, tasks, live) = rt.block_on(async {
        let me = eddy_executor::current_task_id().expect("main is a task");
        (me, rt.tasks(), rt.live_tasks())
    });
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    let main = &tasks[0];
    assert_eq!(main.id, me);
    assert_eq!(main.name.as_deref(), Some("main"));
    assert_eq!(
        (main.location.file(), main.location.line()),
        (file!(), line)
    );
    assert_eq!(main.state, TaskState::Running);
    assert_eq!((main.polls, main.parent, main.busy), (0, None, None));
    assert_eq!(live, 0, "live_tasks counts spawned tasks only");
    assert!(rt.tasks().is_empty(), "main leaves when block_on returns");
}
