//! The ring buffer against a `VecDeque` model: random pushes (overflowing into a sink),
//! pops and steals between two queues come out in the model's order, each task exactly
//! once; and a real thief stealing while the owner pushes and pops loses and duplicates
//! nothing.
//!
//! Not compiled under Miri: 1,000 cases of up to a few hundred tasks each would take Miri
//! hours; `tests.rs` gives it the same code paths at small sizes.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use proptest::prelude::*;

use super::*;
use crate::loom::sync::Arc;
use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::task::Notified;
use crate::task::mock::{Mock, SpawnMock};

/// Collects overflow batches as task ids, one `Vec` per `push_batch` call.
#[derive(Default)]
struct Sink(Mutex<Vec<Vec<u64>>>);

impl Overflow for Sink {
    fn push_batch(&self, tasks: Vec<Notified>) {
        self.0.lock().unwrap().push(ids(tasks));
    }
}

fn ids(tasks: Vec<Notified>) -> Vec<u64> {
    tasks.into_iter().map(|t| id(&t)).collect()
}

fn id(task: &Notified) -> u64 {
    task.raw().id().as_u64()
}

/// A fresh task's first `Notified`, spawned on the mock; the `JoinHandle` is dropped at
/// once (the owned-task list keeps the task alive until `Mock::shutdown`).
fn task(mock: &Arc<Mock>) -> Notified {
    drop(mock.spawn(async {}));
    mock.queue.lock().unwrap().pop_front().unwrap()
}

/// One of the two queues of the single-threaded model; the test thread owns both.
#[derive(Clone, Copy, Debug)]
enum Q {
    A,
    B,
}

#[derive(Clone, Debug)]
enum Op {
    /// Pushes this many new tasks, one at a time, overflowing when the queue is full.
    Push(Q, usize),
    Pop(Q),
    /// The other queue's owner steals from this one. Skipped while the thief's own queue is
    /// not empty: `steal_into` requires an empty destination, as a worker only steals when
    /// it has run out of work.
    StealFrom(Q),
}

fn queue() -> impl Strategy<Value = Q> {
    prop_oneof![Just(Q::A), Just(Q::B)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        // Mostly single tasks; sometimes bursts large enough that a few of them fill a
        // queue (CAPACITY = 256) and overflow.
        3 => (queue(), 1usize..4).prop_map(|(q, n)| Op::Push(q, n)),
        2 => (queue(), 1usize..=80).prop_map(|(q, n)| Op::Push(q, n)),
        3 => queue().prop_map(Op::Pop),
        2 => queue().prop_map(Op::StealFrom),
    ]
}

/// Both queues, their models, and every task id that has come out of any of them.
struct Model {
    mock: Arc<Mock>,
    queues: [Local; 2],
    models: [VecDeque<u64>; 2],
    sink: Sink,
    pushed: u64,
    out: HashSet<u64>,
}

impl Model {
    fn new() -> Model {
        Model {
            mock: Mock::new(),
            queues: [Local::new(), Local::new()],
            models: [VecDeque::new(), VecDeque::new()],
            sink: Sink::default(),
            pushed: 0,
            out: HashSet::new(),
        }
    }

    /// Records that `id` left the queues (by pop, steal or overflow); twice is a failure.
    fn came_out(&mut self, id: u64, how: &str) -> Result<(), TestCaseError> {
        prop_assert!(self.out.insert(id), "task {id} came out twice ({how})");
        Ok(())
    }

    fn push(&mut self, q: Q, n: usize) -> Result<(), TestCaseError> {
        let i = q as usize;
        for _ in 0..n {
            let t = task(&self.mock);
            let id = id(&t);
            self.pushed += 1;
            // SAFETY: the test thread owns both queues.
            unsafe { self.queues[i].push(t, &self.sink) };
            let batches = std::mem::take(&mut *self.sink.0.lock().unwrap());
            if self.models[i].len() < CAPACITY {
                prop_assert!(batches.is_empty(), "overflow with room: {batches:?}");
                self.models[i].push_back(id);
            } else {
                // Full with no steal in progress: the oldest half and the new task go to
                // the global queue in one batch, oldest first.
                let mut want: Vec<u64> = self.models[i].drain(..CAPACITY / 2).collect();
                want.push(id);
                prop_assert_eq!(&batches, &vec![want], "overflow batch of queue {:?}", q);
                for id in batches.into_iter().flatten() {
                    self.came_out(id, "overflow")?;
                }
            }
        }
        Ok(())
    }

    fn pop(&mut self, q: Q) -> Result<(), TestCaseError> {
        let i = q as usize;
        // SAFETY: the test thread owns both queues.
        let got = unsafe { self.queues[i].pop() }.map(|t| id(&t));
        let want = self.models[i].pop_front();
        prop_assert_eq!(got, want, "pop from {:?} is not FIFO", q);
        if let Some(id) = got {
            self.came_out(id, "pop")?;
        }
        Ok(())
    }

    fn steal(&mut self, from: Q) -> Result<(), TestCaseError> {
        let (src, dst) = (from as usize, 1 - from as usize);
        if !self.models[dst].is_empty() {
            return Ok(());
        }
        // SAFETY: the test thread owns `dst` too, `dst` is the other queue, and it is empty.
        let got = unsafe { self.queues[src].steal_into(&self.queues[dst]) }.map(|t| id(&t));
        // Half, rounded up: the first `n` move; the last of them is returned to run now and
        // the rest are queued on the thief in their order.
        let n = self.models[src].len().div_ceil(2);
        let mut moved: Vec<u64> = self.models[src].drain(..n).collect();
        let want = moved.pop();
        prop_assert_eq!(got, want, "steal from {:?} of {} tasks", from, n);
        self.models[dst].extend(moved);
        if let Some(id) = got {
            self.came_out(id, "steal")?;
        }
        Ok(())
    }

    fn check(&self) -> Result<(), TestCaseError> {
        for i in 0..2 {
            let len = self.queues[i].len();
            prop_assert!(len <= CAPACITY, "queue {i} holds {len} > CAPACITY");
            prop_assert_eq!(len, self.models[i].len(), "length of queue {}", i);
        }
        Ok(())
    }

    /// Pops both queues dry (checking FIFO order) and checks every pushed task came out.
    fn finish(mut self) -> Result<(), TestCaseError> {
        for q in [Q::A, Q::B] {
            while !self.models[q as usize].is_empty() {
                self.pop(q)?;
            }
            self.pop(q)?;
        }
        prop_assert_eq!(self.out.len() as u64, self.pushed, "tasks lost");
        self.mock.shutdown();
        Ok(())
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut m = Model::new();
    for op in ops {
        match op {
            Op::Push(q, n) => m.push(q, n)?,
            Op::Pop(q) => m.pop(q)?,
            Op::StealFrom(q) => m.steal(q)?,
        }
        m.check()?;
    }
    m.finish()
}

/// What the owner does while a thief thread steals.
#[derive(Clone, Debug)]
enum OwnerOp {
    Push(usize),
    Pop,
    /// Lets the thief run for a moment.
    Yield,
}

fn owner_op() -> impl Strategy<Value = OwnerOp> {
    prop_oneof![
        3 => (1usize..4).prop_map(OwnerOp::Push),
        1 => (1usize..=100).prop_map(OwnerOp::Push),
        3 => Just(OwnerOp::Pop),
        1 => Just(OwnerOp::Yield),
    ]
}

/// Tells the thief to stop when dropped.
struct Stop(Arc<AtomicBool>);

impl Drop for Stop {
    fn drop(&mut self) {
        // SeqCst: pairs with the thief's load.
        self.0.store(true, SeqCst);
    }
}

/// The owner runs `ops` while a thief steals into its own queue and drains it; afterwards
/// the owner drains its queue. Every task comes out exactly once, through exactly one of
/// the owner's pops, the thief, or the sink.
fn run_concurrent(ops: Vec<OwnerOp>) -> Result<(), TestCaseError> {
    let mock = Mock::new();
    let victim = Arc::new(Local::new());
    let done = Arc::new(AtomicBool::new(false));
    let thief = {
        let victim = victim.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mine = Local::new();
            let mut got = Vec::new();
            // SeqCst: pairs with the owner's store; only ends the loop, orders no data.
            while !done.load(SeqCst) {
                // SAFETY: this thread owns `mine`, emptied below after every steal.
                if let Some(t) = unsafe { victim.steal_into(&mine) } {
                    got.push(id(&t));
                    // SAFETY: owner of `mine`.
                    while let Some(t) = unsafe { mine.pop() } {
                        got.push(id(&t));
                    }
                }
                std::thread::yield_now();
            }
            got
        })
    };
    // Stops the thief however this function returns, a failed assertion included.
    let stop = Stop(done);
    let sink = Sink::default();
    let mut pushed = Vec::new();
    let mut popped = Vec::new();
    for op in ops {
        match op {
            OwnerOp::Push(n) => {
                for _ in 0..n {
                    let t = task(&mock);
                    pushed.push(id(&t));
                    // SAFETY: this thread owns `victim`; the thief only steals.
                    unsafe { victim.push(t, &sink) };
                }
            }
            OwnerOp::Pop => {
                // SAFETY: as above.
                if let Some(t) = unsafe { victim.pop() } {
                    popped.push(id(&t));
                }
            }
            OwnerOp::Yield => std::thread::yield_now(),
        }
        let len = victim.len();
        prop_assert!(len <= CAPACITY, "queue holds {len} > CAPACITY");
    }
    drop(stop);
    let stolen = match thief.join() {
        Ok(stolen) => stolen,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("a non-string payload");
            return Err(TestCaseError::fail(format!("the thief panicked: {msg}")));
        }
    };
    // SAFETY: the thief has exited; this thread owns `victim`.
    while let Some(t) = unsafe { victim.pop() } {
        popped.push(id(&t));
    }
    let overflowed: Vec<u64> = sink.0.lock().unwrap().drain(..).flatten().collect();
    let mut seen = HashSet::new();
    let twice: Vec<u64> = (popped.iter().chain(&stolen).chain(&overflowed))
        .filter(|&&id| !seen.insert(id))
        .copied()
        .collect();
    let lost: Vec<u64> = pushed
        .iter()
        .filter(|id| !seen.contains(id))
        .copied()
        .collect();
    prop_assert!(
        twice.is_empty() && lost.is_empty() && seen.len() == pushed.len(),
        "of {} tasks, lost {:?}, out twice {:?} ({} popped, {} stolen, {} overflowed)",
        pushed.len(),
        lost,
        twice,
        popped.len(),
        stolen.len(),
        overflowed.len()
    );
    drop(victim);
    mock.shutdown();
    Ok(())
}

proptest! {
    #![proptest_config(crate::task::mock::proptest_config())]

    #[test]
    fn queue_matches_vecdeque_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}

proptest! {
    // Each case starts a thread and the OS scheduler picks the interleaving, so a failure
    // may not reproduce while shrinking and the shrunk case can stay long. The races it
    // looks for are narrow (the queue filling while a thief copies), so it runs as many
    // cases as the single-threaded model (docs/testing.md, "Property tests").
    #![proptest_config(crate::task::mock::proptest_config())]

    #[test]
    fn queue_concurrent_steals_conserve_tasks(
        ops in proptest::collection::vec(owner_op(), 1..300)
    ) {
        run_concurrent(ops)?;
    }
}
