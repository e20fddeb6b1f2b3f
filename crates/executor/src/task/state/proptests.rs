//! The state word against a reference state machine written from the protocol in
//! `state.rs`: random sequences of what the poller, wakers, the `JoinHandle`, abort
//! handles and shutdown may do, each applied to both; the words, every transition's answer
//! and the module's invariants must agree after every step.
//!
//! The reference tracks who holds each reference (the owned-task list, the `JoinHandle`,
//! abort handles, wakers, queued `Notified`s, the party holding `RUNNING`, a completer not
//! yet done), so the count is derived rather than copied, and an operation is applied only
//! when its caller exists: `ref_dec` never runs without a reference to give up, a poll ends
//! only where a poll began. Operations whose caller does not exist in the current state
//! are skipped. Not compiled under Miri: the word has no unsafe code, and `tests.rs` runs
//! each transition there.

use proptest::prelude::*;

use super::*;

/// Who holds `RUNNING`, and what they must do next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Runner {
    /// A poller, on the reference of the `Notified` it ran: its poll ends `Pending` or
    /// `Ready`.
    Polling,
    /// A poller that saw `CANCELLED` and must drop the future, on the same reference.
    Cancelling,
    /// Shutdown claimed an idle task, on the owned list's reference.
    Shutdown,
}

#[derive(Clone, Debug)]
enum Op {
    /// The scheduler runs a queued `Notified` (`transition_to_running`).
    Run,
    /// The poll returned `Pending` (`transition_to_idle`).
    PollPending,
    /// The `RUNNING` holder stored the output or dropped the future: leaves the owned list,
    /// then `transition_to_complete`.
    Complete,
    /// The completer woke the join waker and gives the slot up (`unset_waker_after_complete`).
    CompleterUnsetWaker,
    /// The completer releases its reference (and the list's, if it took it).
    CompleterRelease,
    /// A waker, or the poll's borrowed waker, wakes by reference.
    WakeByRef,
    /// A waker wakes by value, giving its reference up.
    WakeByVal,
    /// A waker, or the poll's borrowed waker, is cloned (`ref_inc`).
    CloneWaker,
    DropWaker,
    /// `JoinHandle::abort_handle` (`ref_inc`).
    NewAbortHandle,
    DropAbortHandle,
    /// `abort` through the `JoinHandle` or an abort handle (`transition_to_cancelled`).
    Abort,
    /// Runtime shutdown takes the task out of the owned list (`transition_to_shutdown`).
    Shutdown,
    /// The `JoinHandle` registers a waker (`set_join_waker`).
    JoinSetWaker,
    /// The `JoinHandle` takes the slot back to replace the waker (`unset_join_waker`).
    JoinUnsetWaker,
    /// `JoinHandle::drop`: `unset_join_interest`, then `ref_dec`.
    JoinDrop,
    /// A queued `Notified` dropped unrun, as a scheduler does once the task is complete or
    /// shut down.
    DropQueued,
}

fn op() -> impl Strategy<Value = Op> {
    // Completion, abort and shutdown end most of what can happen, so they are rarer; the
    // completer's steps are legal only briefly, so they are common.
    prop_oneof![
        5 => Just(Op::Run),
        5 => Just(Op::PollPending),
        1 => Just(Op::Complete),
        4 => Just(Op::CompleterUnsetWaker),
        4 => Just(Op::CompleterRelease),
        4 => Just(Op::WakeByRef),
        3 => Just(Op::WakeByVal),
        4 => Just(Op::CloneWaker),
        2 => Just(Op::DropWaker),
        1 => Just(Op::NewAbortHandle),
        1 => Just(Op::DropAbortHandle),
        1 => Just(Op::Abort),
        1 => Just(Op::Shutdown),
        3 => Just(Op::JoinSetWaker),
        2 => Just(Op::JoinUnsetWaker),
        1 => Just(Op::JoinDrop),
        3 => Just(Op::DropQueued),
    ]
}

/// The reference: the flags, and each holder of a reference.
#[derive(Clone, Debug)]
struct Reference {
    notified: bool,
    complete: bool,
    cancelled: bool,
    join_interest: bool,
    join_waker: bool,
    runner: Option<Runner>,
    /// After `transition_to_complete`: the references the completer still holds, and
    /// whether it must still give the join-waker slot up.
    completer: Option<(usize, bool)>,
    list: bool,
    join: bool,
    abort_handles: usize,
    wakers: usize,
    queued: usize,
    shut_down: bool,
}

impl Reference {
    /// A spawned task: queued, joinable, referenced by the list, the `JoinHandle` and the
    /// `Notified` about to be scheduled.
    fn spawned() -> Reference {
        Reference {
            notified: true,
            complete: false,
            cancelled: false,
            join_interest: true,
            join_waker: false,
            runner: None,
            completer: None,
            list: true,
            join: true,
            abort_handles: 0,
            wakers: 0,
            queued: 1,
            shut_down: false,
        }
    }

    fn refs(&self) -> usize {
        usize::from(self.list)
            + usize::from(self.join)
            + self.abort_handles
            + self.wakers
            + self.queued
            + usize::from(self.runner.is_some())
            + self.completer.map_or(0, |(refs, _)| refs)
    }

    fn word(&self) -> usize {
        let flags = [
            (self.runner.is_some(), RUNNING),
            (self.notified, NOTIFIED),
            (self.complete, COMPLETE),
            (self.cancelled, CANCELLED),
            (self.join_interest, JOIN_INTEREST),
            (self.join_waker, JOIN_WAKER),
        ];
        let bits = flags
            .iter()
            .filter(|(on, _)| *on)
            .fold(0, |w, (_, f)| w | f);
        bits | (self.refs() * REF_ONE)
    }

    /// Whether `op`'s caller exists in this state (the spec's preconditions).
    fn allows(&self, op: &Op) -> bool {
        let polling = self.runner == Some(Runner::Polling);
        match op {
            Op::Run => self.queued > 0,
            Op::PollPending => polling,
            Op::Complete => self.runner.is_some(),
            Op::CompleterUnsetWaker => matches!(self.completer, Some((_, true))),
            Op::CompleterRelease => matches!(self.completer, Some((_, false))),
            Op::WakeByRef | Op::CloneWaker => self.wakers > 0 || polling,
            Op::WakeByVal | Op::DropWaker => self.wakers > 0,
            Op::NewAbortHandle | Op::JoinDrop => self.join,
            Op::DropAbortHandle => self.abort_handles > 0,
            Op::Abort => self.join || self.abort_handles > 0,
            Op::Shutdown => self.list,
            Op::JoinSetWaker => self.join && !self.join_waker,
            Op::JoinUnsetWaker => self.join && self.join_waker,
            Op::DropQueued => self.queued > 0 && (self.complete || self.shut_down),
        }
    }
}

/// The real word, the reference, what has been applied so far, and what the word looked
/// like one step ago (for the invariants about what never changes back).
struct Harness {
    state: State,
    reference: Reference,
    trace: Vec<Op>,
    prev: Snapshot,
    freed: bool,
}

impl Harness {
    /// Drops one reference on both sides; the real answer says whether it was the last.
    fn ref_dec(&mut self) -> Result<(), TestCaseError> {
        let last = self.state.ref_dec();
        prop_assert_eq!(
            last,
            self.reference.refs() == 0,
            "ref_dec's last after {:?}",
            self.trace
        );
        if last {
            prop_assert!(
                self.reference.complete,
                "the last reference went while not complete, after {:?}",
                self.trace
            );
            self.freed = true;
        }
        Ok(())
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        if self.freed || !self.reference.allows(&op) {
            return Ok(());
        }
        self.trace.push(op.clone());
        let trace = &self.trace;
        let r = &mut self.reference;
        let st = &self.state;
        match op {
            Op::Run => {
                r.queued -= 1;
                let got = st.transition_to_running();
                if r.runner.is_some() || r.complete {
                    // A stale `Notified`: its reference is released.
                    prop_assert_eq!(got, ToRunning::Skip(r.refs() == 0), "after {:?}", trace);
                    if r.refs() == 0 {
                        prop_assert!(r.complete, "freed while not complete after {:?}", trace);
                        self.freed = true;
                    }
                } else {
                    prop_assert!(
                        r.notified,
                        "a queued task is not NOTIFIED after {:?}",
                        trace
                    );
                    r.notified = false;
                    let want = if r.cancelled {
                        r.runner = Some(Runner::Cancelling);
                        ToRunning::Cancel
                    } else {
                        r.runner = Some(Runner::Polling);
                        ToRunning::Poll
                    };
                    prop_assert_eq!(got, want, "after {:?}", trace);
                }
            }
            Op::PollPending => {
                let got = st.transition_to_idle();
                let want = if r.cancelled {
                    r.runner = Some(Runner::Cancelling);
                    ToIdle::Cancel
                } else if r.notified {
                    // The poll's reference becomes the re-queued `Notified`'s.
                    r.runner = None;
                    r.queued += 1;
                    ToIdle::Notified
                } else {
                    r.runner = None;
                    ToIdle::Idle(r.refs() == 0)
                };
                prop_assert_eq!(got, want, "after {:?}", trace);
                // Shutdown sets CANCELLED, so a poll that outlives the list's reference
                // ends in `Cancel`, never idle with nobody left to free the task.
                prop_assert!(
                    r.refs() > 0,
                    "an idle task lost its last reference after {:?}",
                    trace
                );
            }
            Op::Complete => {
                // The harness leaves the owned list first; the list's reference, if the
                // list still held the task, goes with the completer's own.
                let before = r.word();
                let refs = 1 + usize::from(r.list);
                r.list = false;
                let got = st.transition_to_complete();
                prop_assert_eq!(got.0, before, "transition_to_complete's previous state");
                r.runner = None;
                r.complete = true;
                r.completer = Some((refs, r.join_interest && r.join_waker));
            }
            Op::CompleterUnsetWaker => {
                let before = r.word();
                let got = st.unset_waker_after_complete();
                prop_assert_eq!(
                    got.0,
                    before,
                    "unset_waker_after_complete after {:?}",
                    trace
                );
                r.join_waker = false;
                r.completer = r.completer.map(|(refs, _)| (refs, false));
            }
            Op::CompleterRelease => {
                let (refs, _) = r.completer.expect("allowed");
                for left in (0..refs).rev() {
                    self.reference.completer = Some((left, false));
                    self.ref_dec()?;
                }
                self.reference.completer = None;
            }
            Op::WakeByRef => {
                let got = st.transition_to_notified_by_ref();
                let want = if r.complete || r.notified {
                    ToNotified::Nothing
                } else if r.runner.is_some() {
                    r.notified = true;
                    ToNotified::Nothing
                } else {
                    r.notified = true;
                    r.queued += 1;
                    ToNotified::Submit
                };
                prop_assert_eq!(got, want, "after {:?}", trace);
            }
            Op::WakeByVal => {
                r.wakers -= 1;
                let (got, last) = st.transition_to_notified_by_val();
                if !r.complete && !r.notified && r.runner.is_none() {
                    // The waker's reference becomes the `Notified`'s.
                    r.notified = true;
                    r.queued += 1;
                    prop_assert_eq!(
                        (got, last),
                        (ToNotified::Submit, false),
                        "after {:?}",
                        trace
                    );
                } else {
                    if r.runner.is_some() {
                        r.notified = true;
                    }
                    let want = (ToNotified::Nothing, r.refs() == 0);
                    prop_assert_eq!((got, last), want, "after {:?}", trace);
                    if last {
                        prop_assert!(r.complete, "freed while not complete after {:?}", trace);
                        self.freed = true;
                    }
                }
            }
            Op::CloneWaker => {
                st.ref_inc();
                r.wakers += 1;
            }
            Op::DropWaker => {
                r.wakers -= 1;
                self.ref_dec()?;
            }
            Op::NewAbortHandle => {
                st.ref_inc();
                r.abort_handles += 1;
            }
            Op::DropAbortHandle => {
                r.abort_handles -= 1;
                self.ref_dec()?;
            }
            Op::Abort => {
                let got = st.transition_to_cancelled();
                let want = if r.complete || r.cancelled {
                    ToNotified::Nothing
                } else if r.runner.is_some() || r.notified {
                    // Running: NOTIFIED keeps a wake in the poll's window from queueing it.
                    r.cancelled = true;
                    r.notified = true;
                    ToNotified::Nothing
                } else {
                    // Idle: queued (a new reference) so its own scheduler drops the future.
                    r.cancelled = true;
                    r.notified = true;
                    r.queued += 1;
                    ToNotified::Submit
                };
                prop_assert_eq!(got, want, "after {:?}", trace);
            }
            Op::Shutdown => {
                r.list = false;
                r.shut_down = true;
                r.cancelled = true;
                let claimed = st.transition_to_shutdown();
                let want = !(r.complete || r.runner.is_some());
                prop_assert_eq!(claimed, want, "transition_to_shutdown after {:?}", trace);
                if claimed {
                    // The list's reference travels with RUNNING to `Complete`.
                    r.runner = Some(Runner::Shutdown);
                } else {
                    self.ref_dec()?;
                }
            }
            Op::JoinSetWaker => {
                let before = r.word();
                let got = st.set_join_waker();
                if r.complete {
                    prop_assert_eq!(got, Err(Snapshot(before)), "after {:?}", trace);
                } else {
                    prop_assert_eq!(got, Ok(Snapshot(before)), "after {:?}", trace);
                    r.join_waker = true;
                }
            }
            Op::JoinUnsetWaker => {
                let before = r.word();
                let got = st.unset_join_waker();
                if r.complete {
                    prop_assert_eq!(got, Err(Snapshot(before)), "after {:?}", trace);
                } else {
                    prop_assert_eq!(got, Ok(Snapshot(before)), "after {:?}", trace);
                    r.join_waker = false;
                }
            }
            Op::JoinDrop => {
                let before = r.word();
                let got = st.unset_join_interest();
                prop_assert_eq!(got.0, before, "unset_join_interest after {:?}", trace);
                r.join_interest = false;
                if !r.complete {
                    r.join_waker = false;
                }
                r.join = false;
                self.ref_dec()?;
            }
            Op::DropQueued => {
                r.queued -= 1;
                self.ref_dec()?;
            }
        }
        self.check()
    }

    /// The word equals the reference's, and the invariants of `state.rs` hold on it.
    fn check(&mut self) -> Result<(), TestCaseError> {
        let now = self.state.load();
        let prev = std::mem::replace(&mut self.prev, now);
        let trace = &self.trace;
        let r = &self.reference;
        prop_assert_eq!(now, Snapshot(r.word()), "the word after {:?}", trace);
        prop_assert!(
            !(now.is(RUNNING) && now.is(COMPLETE)),
            "RUNNING and COMPLETE after {:?}",
            trace
        );
        prop_assert!(
            !prev.is(COMPLETE) || now.is(COMPLETE),
            "COMPLETE cleared after {:?}",
            trace
        );
        prop_assert!(
            !prev.is(CANCELLED) || now.is(CANCELLED),
            "CANCELLED cleared after {:?}",
            trace
        );
        prop_assert!(
            prev.is(JOIN_INTEREST) || !now.is(JOIN_INTEREST),
            "JOIN_INTEREST set again after {:?}",
            trace
        );
        if !now.is(COMPLETE) {
            prop_assert!(
                !now.is(JOIN_WAKER) || now.is(JOIN_INTEREST),
                "a join waker without a JoinHandle before completion, after {:?}",
                trace
            );
        }
        if now.is(NOTIFIED) && !now.is(RUNNING) && !now.is(COMPLETE) && !r.shut_down {
            // A wake is never lost: someone will run the task.
            prop_assert!(
                r.queued > 0,
                "NOTIFIED but nothing queued, after {:?}",
                trace
            );
        }
        if now.refs() == 0 {
            prop_assert!(
                now.is(COMPLETE),
                "no reference left to an incomplete task, after {:?}",
                trace
            );
        }
        Ok(())
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let state = State::new();
    let reference = Reference::spawned();
    prop_assert_eq!(state.load(), Snapshot(reference.word()), "the initial word");
    let mut h = Harness {
        prev: state.load(),
        state,
        reference,
        trace: Vec::new(),
        freed: false,
    };
    for op in ops {
        h.apply(op)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(crate::task::mock::proptest_config())]

    #[test]
    fn state_word_matches_reference(ops in proptest::collection::vec(op(), 1..150)) {
        run(ops)?;
    }
}
