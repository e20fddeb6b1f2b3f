//! `JoinSet` against a model of its members on a current-thread runtime: random spawns
//! (tasks that finish after some yields, panic after some yields, or never finish), aborts,
//! `abort_all`, `join_next` and yields. Every member's result comes out of `join_next`
//! exactly once, with its value, its panic or `Cancelled` as the model says, and `len()`
//! matches the model after every step.
//!
//! On one thread the model knows exactly which result each member gives: a member marks
//! itself finished in the same poll in which it returns or panics, so at the moment of an
//! abort (made by the test's own task, between polls) it has either finished, and its
//! result stands, or not, and it will be `Cancelled`.

use std::collections::BTreeMap;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, Once};
use std::task::Poll;

use eddy::task::{AbortHandle, JoinError, JoinSet};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::RngAlgorithm;

/// What a member does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Yields this many times, then returns its id.
    Finish(u8),
    /// Yields this many times, then panics with `Boom(id)`.
    Panic(u8),
    /// Stays pending until aborted.
    Never,
}

#[derive(Clone, Debug)]
enum Op {
    Spawn(Kind),
    /// Aborts one of the members ever spawned (live, finished or already joined).
    Abort(Index),
    AbortAll,
    /// Awaits `join_next` when the model says a result is coming; otherwise polls it once
    /// and expects `Pending` (or `None` for an empty set).
    JoinNext,
    /// The test's task yields this many times, letting members run.
    Yield(u8),
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => (0u8..4).prop_map(Kind::Finish),
        1 => (0u8..4).prop_map(Kind::Panic),
        2 => Just(Kind::Never),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => kind().prop_map(Op::Spawn),
        2 => any::<Index>().prop_map(Op::Abort),
        1 => Just(Op::AbortAll),
        4 => Just(Op::JoinNext),
        2 => (1u8..4).prop_map(Op::Yield),
    ]
}

/// A member's panic payload.
struct Boom(u64);

/// Keeps the members' planned panics out of the test output; every other panic goes to
/// the hook that was there before.
fn quiet_booms() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<Boom>().is_none() {
                previous(info);
            }
        }));
    });
}

/// What the members report about themselves.
#[derive(Default)]
struct Log {
    /// Members that returned or panicked.
    finished: Vec<u64>,
    /// Members whose future was dropped before it finished.
    dropped: Vec<u64>,
}

/// Records a member's future being dropped before it finished.
struct OnDrop {
    id: u64,
    log: Arc<Mutex<Log>>,
}

impl Drop for OnDrop {
    fn drop(&mut self) {
        let mut log = self.log.lock().unwrap();
        if !log.finished.contains(&self.id) {
            log.dropped.push(self.id);
        }
    }
}

/// One member in the model.
#[derive(Debug)]
struct Member {
    kind: Kind,
    /// Aborted before it finished: its result is `Cancelled`.
    cancelled: bool,
    joined: bool,
    abort: AbortHandle,
}

impl Member {
    /// Whether `join_next` can return this member's result without anything else
    /// happening.
    fn will_finish(&self) -> bool {
        !self.joined && (self.cancelled || self.kind != Kind::Never)
    }
}

struct Model {
    set: JoinSet<u64>,
    members: BTreeMap<u64, Member>,
    log: Arc<Mutex<Log>>,
}

impl Model {
    fn live(&self) -> usize {
        self.members.values().filter(|m| !m.joined).count()
    }

    fn spawn(&mut self, kind: Kind) {
        let id = self.members.len() as u64;
        let log = Arc::clone(&self.log);
        // Made outside the future, so it is dropped with it even if it never ran.
        let on_drop = OnDrop {
            id,
            log: Arc::clone(&log),
        };
        let abort = self.set.spawn(async move {
            let _on_drop = on_drop;
            let yields = match kind {
                Kind::Finish(n) | Kind::Panic(n) => n,
                Kind::Never => {
                    std::future::pending::<()>().await;
                    unreachable!()
                }
            };
            for _ in 0..yields {
                eddy::yield_now().await;
            }
            log.lock().unwrap().finished.push(id);
            if let Kind::Panic(_) = kind {
                std::panic::panic_any(Boom(id));
            }
            id
        });
        self.members.insert(
            id,
            Member {
                kind,
                cancelled: false,
                joined: false,
                abort,
            },
        );
    }

    fn abort(&mut self, id: u64) {
        let finished = self.log.lock().unwrap().finished.contains(&id);
        let member = self.members.get_mut(&id).unwrap();
        member.abort.abort();
        if !finished && !member.joined {
            member.cancelled = true;
        }
    }

    fn abort_all(&mut self) {
        self.set.abort_all();
        let log = self.log.lock().unwrap();
        for (id, member) in &mut self.members {
            if !member.joined && !log.finished.contains(id) {
                member.cancelled = true;
            }
        }
    }

    /// Checks one result of `join_next` against the model and marks its member joined.
    fn joined(&mut self, result: Result<u64, JoinError>) -> Result<(), TestCaseError> {
        let id = match result {
            Ok(id) => {
                let m = self.members.get(&id);
                prop_assert!(
                    m.is_some_and(|m| !m.joined
                        && !m.cancelled
                        && matches!(m.kind, Kind::Finish(_))),
                    "Ok({}) from member {:?}",
                    id,
                    m
                );
                id
            }
            Err(JoinError::Panicked(payload)) => {
                let boom = payload.downcast_ref::<Boom>();
                prop_assert!(boom.is_some(), "a panic that is not a member's");
                let id = boom.unwrap().0;
                let m = self.members.get(&id);
                prop_assert!(
                    m.is_some_and(|m| !m.joined
                        && !m.cancelled
                        && matches!(m.kind, Kind::Panic(_))),
                    "Panicked({}) from member {:?}",
                    id,
                    m
                );
                id
            }
            Err(JoinError::Cancelled) => {
                // Cancelled carries no id: any live cancelled member whose future is gone
                // will do, as they are alike.
                let dropped = self.log.lock().unwrap().dropped.clone();
                let id = self
                    .members
                    .iter()
                    .find(|(id, m)| !m.joined && m.cancelled && dropped.contains(id))
                    .map(|(&id, _)| id);
                prop_assert!(
                    id.is_some(),
                    "Cancelled, but no aborted member's future was dropped: {:?}",
                    self.members
                );
                id.unwrap()
            }
            Err(e) => return Err(TestCaseError::fail(format!("unexpected {e:?}"))),
        };
        self.members.get_mut(&id).unwrap().joined = true;
        Ok(())
    }

    async fn join_next(&mut self) -> Result<(), TestCaseError> {
        if self.members.values().any(Member::will_finish) {
            let next = join_next_within(&mut self.set).await;
            prop_assert!(
                next.is_some(),
                "no result within {} yields, with {:?}",
                PATIENCE,
                self.members
            );
            let next = next.unwrap();
            prop_assert!(
                next.is_some(),
                "join_next said empty with {:?}",
                self.members
            );
            self.joined(next.unwrap())
        } else {
            let polled = poll_fn(|cx| Poll::Ready(self.set.poll_join_next(cx))).await;
            match polled {
                Poll::Ready(None) => {
                    prop_assert_eq!(self.live(), 0, "join_next said empty");
                    Ok(())
                }
                Poll::Pending => {
                    prop_assert!(self.live() > 0, "join_next pending on an empty set");
                    Ok(())
                }
                Poll::Ready(Some(r)) => Err(TestCaseError::fail(format!(
                    "a result ({:?}) where the model expects none: {:?}",
                    r.map_err(|e| e.is_cancelled()),
                    self.members
                ))),
            }
        }
    }
}

/// How many times the test's task yields, waiting for a result the model expects, before
/// the result counts as lost. The current-thread scheduler runs at least one other task
/// for each yield, and a case's members need a few hundred polls in all, so a correct set
/// never comes near it; counting yields rather than time keeps a failing case (and each
/// step of its shrinking) fast and the outcome independent of the machine's load.
const PATIENCE: usize = 10_000;

/// `join_next`, or `None` after `PATIENCE` yields. `race_all` polls each side only when
/// its own waker fired, so the watchdog's yields never poll `join_next` for it: a lost
/// wake of the set still shows as a missing result.
async fn join_next_within(set: &mut JoinSet<u64>) -> Option<Option<Result<u64, JoinError>>> {
    type Side<'a> = Pin<Box<dyn Future<Output = Option<Option<Result<u64, JoinError>>>> + 'a>>;
    let next: Side<'_> = Box::pin(async { Some(set.join_next().await) });
    let watchdog: Side<'_> = Box::pin(async {
        for _ in 0..PATIENCE {
            eddy::yield_now().await;
        }
        None
    });
    eddy::future::race_all([next, watchdog]).await.0
}

async fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut m = Model {
        set: JoinSet::new(),
        members: BTreeMap::new(),
        log: Arc::default(),
    };
    for op in ops {
        match op {
            Op::Spawn(kind) => m.spawn(kind),
            Op::Abort(i) => {
                if !m.members.is_empty() {
                    m.abort(i.index(m.members.len()) as u64);
                }
            }
            Op::AbortAll => m.abort_all(),
            Op::JoinNext => m.join_next().await?,
            Op::Yield(n) => {
                for _ in 0..n {
                    eddy::yield_now().await;
                }
            }
        }
        prop_assert_eq!(m.set.len(), m.live(), "len()");
    }
    // Whatever is left comes out too, once aborted.
    m.abort_all();
    while m.live() > 0 {
        m.join_next().await?;
        prop_assert_eq!(m.set.len(), m.live(), "len() while draining");
    }
    prop_assert!(
        m.set.join_next().await.is_none(),
        "a result after the last member"
    );
    let log = m.log.lock().unwrap();
    for (id, member) in &m.members {
        prop_assert!(member.joined, "member {} never came out", id);
        prop_assert_eq!(
            log.dropped.contains(id),
            member.cancelled,
            "member {}'s future dropped unfinished",
            id
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        // ChaCha, the default generator, is most of the run time in a debug build.
        rng_algorithm: RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    })]

    #[test]
    #[cfg_attr(miri, ignore = "1,000 cases of a whole runtime would take Miri hours")]
    fn join_set_matches_model(ops in proptest::collection::vec(op(), 1..40)) {
        quiet_booms();
        let rt = eddy::Runtime::builder().current_thread().build().unwrap();
        rt.block_on(run(ops))?;
    }
}
