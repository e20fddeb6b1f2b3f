//! A small single-threaded executor for the tests: it polls spawned futures and turns an
//! eddy reactor whenever nothing is runnable. (The net crate must work under any executor;
//! this one is deliberately not eddy's.)

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use eddy_net::{Handle, Reactor};

type Task = Pin<Box<dyn Future<Output = ()>>>;

thread_local! {
    static SPAWNED: RefCell<Vec<Task>> = const { RefCell::new(Vec::new()) };
}

/// Spawns `fut` on the executor running on this thread.
pub(crate) fn spawn(fut: impl Future<Output = ()> + 'static) {
    SPAWNED.with(|s| s.borrow_mut().push(Box::pin(fut)));
}

struct TaskWaker {
    id: usize,
    ready: Arc<Mutex<VecDeque<usize>>>,
    handle: Handle,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.lock().unwrap().push_back(self.id);
        // Wakes from other threads (DNS lookups) must interrupt a blocked turn.
        self.handle.unpark();
    }
}

/// Runs `fut` to completion on a fresh reactor, with spawned tasks alongside it.
pub(crate) fn block_on<T>(fut: impl Future<Output = T>) -> T {
    let mut reactor = Reactor::new().expect("reactor");
    let handle = reactor.handle();
    let _guard = handle.enter();
    let ready = Arc::new(Mutex::new(VecDeque::from([usize::MAX])));
    let waker_for = |id| {
        Waker::from(Arc::new(TaskWaker {
            id,
            ready: Arc::clone(&ready),
            handle: handle.clone(),
        }))
    };
    let main_waker = waker_for(usize::MAX);
    let mut main = std::pin::pin!(fut);
    let mut tasks: Vec<Option<(Task, Waker)>> = Vec::new();
    loop {
        for task in SPAWNED.with(|s| std::mem::take(&mut *s.borrow_mut())) {
            let id = tasks.len();
            tasks.push(Some((task, waker_for(id))));
            ready.lock().unwrap().push_back(id);
        }
        // Poll what is ready now, then look at the reactor: without blocking if more work
        // is queued, so a task that keeps waking itself cannot starve I/O.
        let batch: Vec<usize> = ready.lock().unwrap().drain(..).collect();
        for id in batch {
            if id == usize::MAX {
                if let Poll::Ready(value) =
                    main.as_mut().poll(&mut Context::from_waker(&main_waker))
                {
                    return value;
                }
            } else if let Some((task, waker)) = &mut tasks[id]
                && task
                    .as_mut()
                    .poll(&mut Context::from_waker(waker))
                    .is_ready()
            {
                tasks[id] = None;
            }
        }
        let idle = ready.lock().unwrap().is_empty() && SPAWNED.with(|s| s.borrow().is_empty());
        reactor
            .turn(if idle { None } else { Some(Duration::ZERO) })
            .expect("reactor turn");
    }
}

/// A deterministic pseudo-random generator (xorshift), so failures reproduce.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// A 64-bit FNV-1a checksum.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Returns `Pending` once, after waking itself: lets every other ready task run.
pub(crate) async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

/// This test binary, re-run for `test` alone with its output shown; through the emulator
/// named by `EDDY_TEST_RUNNER` when `cargo xtask cross --run` runs the suite for another
/// architecture (for example `qemu-aarch64 -L /usr/aarch64-linux-gnu`).
pub(crate) fn rerun(test: &str) -> std::process::Command {
    let runner = std::env::var("EDDY_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match words.next() {
        Some(emulator) => {
            let mut cmd = std::process::Command::new(emulator);
            cmd.args(words).arg(exe);
            cmd
        }
        None => std::process::Command::new(exe),
    };
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"]);
    cmd
}
