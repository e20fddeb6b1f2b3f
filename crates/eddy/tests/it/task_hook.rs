//! `Builder::task_hook` and `Builder::on_pending_at_shutdown`: what a hook learns about each
//! task, that every poll runs inside it, on both flavours.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use eddy::task::{SpawnedTask, TaskHook, TaskPolls, TaskTracker};

/// What the hook saw of one task: id, name, spawn line, and its polls so far.
#[derive(Debug)]
struct Seen {
    id: u64,
    name: Option<String>,
    line: u32,
    polls: Arc<AtomicU64>,
}

/// Records what it sees into the shared list.
struct Recorder(Arc<Mutex<Vec<Seen>>>);

struct Counting(Arc<AtomicU64>);

impl TaskPolls for Counting {
    fn poll(&self, poll: &mut dyn FnMut()) {
        self.0.fetch_add(1, Ordering::SeqCst);
        poll();
    }
}

impl TaskHook for Recorder {
    fn spawned(&self, task: &SpawnedTask<'_>) -> Option<Box<dyn TaskPolls>> {
        let polls = Arc::new(AtomicU64::new(0));
        self.0.lock().unwrap().push(Seen {
            id: task.id.as_u64(),
            name: task.name.map(str::to_owned),
            line: task.location.line(),
            polls: polls.clone(),
        });
        assert!(task.location.file().ends_with("task_hook.rs"), "{task:?}");
        Some(Box::new(Counting(polls)))
    }
}

fn flavours() -> [eddy::runtime::Builder; 2] {
    [
        eddy::Runtime::builder().current_thread(),
        eddy::Runtime::builder().multi_thread().worker_threads(2),
    ]
}

#[test]
fn the_hook_sees_every_spawn_and_runs_every_poll() {
    for builder in flavours() {
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let hook = Arc::new(Recorder(recorded.clone()));
        let rt = builder.task_hook(hook).build().unwrap();
        let (ids, lines) = rt.block_on(async {
            let yields = || async {
                for _ in 0..2 {
                    eddy::yield_now().await;
                }
            };
            let (plain, l1) = (eddy::spawn(yields()), line!());
            let (named, l2) = (eddy::task::spawn_named("named", yields()), line!());
            let tracker = TaskTracker::new();
            let (tracked, l3) = (tracker.spawn_named("tracked", yields()), line!());
            let ids = [plain.id(), named.id(), tracked.id()].map(|id| id.as_u64());
            plain.await.unwrap();
            named.await.unwrap();
            tracked.await.unwrap();
            (ids, [l1, l2, l3])
        });
        let seen = recorded.lock().unwrap();
        assert_eq!(seen.len(), 3, "{seen:?}");
        let names = [None, Some("named"), Some("tracked")];
        for ((id, line), name) in ids.iter().zip(lines).zip(names) {
            let task = seen
                .iter()
                .find(|s| s.id == *id)
                .expect("the hook saw the task");
            assert_eq!(task.name.as_deref(), name);
            assert_eq!(
                task.line, line,
                "the caller's line, through #[track_caller]"
            );
            // Two yields: three polls, each inside the hook.
            assert_eq!(task.polls.load(Ordering::SeqCst), 3, "{task:?}");
        }
    }
}

#[test]
fn the_shutdown_listing_goes_to_its_hook() {
    for builder in flavours() {
        let listed = Arc::new(Mutex::new(Vec::new()));
        let sink = listed.clone();
        let rt = builder
            .debug(true)
            .on_pending_at_shutdown(move |dump| {
                let tasks = dump.tasks().iter();
                sink.lock()
                    .unwrap()
                    .extend(tasks.map(|t| (t.name.clone(), t.lost_wake)));
            })
            .build()
            .unwrap();
        rt.block_on(async {
            let stuck = eddy::task::spawn_named("stuck", std::future::pending::<()>());
            // Once polled, the task holds no waker anywhere: a lost wake.
            let id = stuck.id();
            while !eddy::Handle::current()
                .tasks()
                .iter()
                .any(|t| t.id == id && t.polls > 0)
            {
                eddy::yield_now().await;
            }
        });
        drop(rt);
        let listed = listed.lock().unwrap();
        assert_eq!(*listed, [(Some("stuck".to_owned()), true)]);
    }
}
