//! Every transition of the state word, one at a time.

use super::*;

#[test]
fn new_task_is_queued_joinable_with_three_refs() {
    let s = State::new().load();
    assert!(s.is(NOTIFIED) && s.is(JOIN_INTEREST));
    assert!(!s.is(RUNNING) && !s.is(COMPLETE) && !s.is(CANCELLED) && !s.is(JOIN_WAKER));
    assert_eq!(s.refs(), 3);
}

#[test]
fn run_then_idle_then_wake() {
    let st = State::new();
    assert_eq!(st.transition_to_running(), ToRunning::Poll);
    assert!(st.load().is(RUNNING) && !st.load().is(NOTIFIED));
    assert_eq!(st.transition_to_idle(), ToIdle::Idle(false));
    assert_eq!(st.load().refs(), 2);
    assert_eq!(st.transition_to_notified_by_ref(), ToNotified::Submit);
    assert_eq!(st.load().refs(), 3);
    // Already queued: no second submit.
    assert_eq!(st.transition_to_notified_by_ref(), ToNotified::Nothing);
}

#[test]
fn wake_while_running_requeues_after_poll() {
    let st = State::new();
    st.transition_to_running();
    assert_eq!(st.transition_to_notified_by_ref(), ToNotified::Nothing);
    assert!(st.load().is(NOTIFIED));
    assert_eq!(st.transition_to_idle(), ToIdle::Notified);
    assert_eq!(st.load().refs(), 3);
}

#[test]
fn wake_by_val_releases_its_reference_when_not_submitting() {
    let st = State::new();
    st.ref_inc();
    assert_eq!(st.load().refs(), 4);
    assert_eq!(
        st.transition_to_notified_by_val(),
        (ToNotified::Nothing, false)
    );
    assert_eq!(st.load().refs(), 3);
}

#[test]
fn abort_in_each_state() {
    // Queued: flag only.
    let st = State::new();
    assert_eq!(st.transition_to_cancelled(), ToNotified::Nothing);
    assert_eq!(st.transition_to_running(), ToRunning::Cancel);
    // Running: flag, dropped when the poll ends.
    let st = State::new();
    st.transition_to_running();
    assert_eq!(st.transition_to_cancelled(), ToNotified::Nothing);
    assert_eq!(st.transition_to_idle(), ToIdle::Cancel);
    // Idle: queued so its scheduler drops it.
    let st = State::new();
    st.transition_to_running();
    st.transition_to_idle();
    assert_eq!(st.transition_to_cancelled(), ToNotified::Submit);
    assert!(st.load().is(NOTIFIED) && st.load().is(CANCELLED));
    // Twice: nothing more.
    assert_eq!(st.transition_to_cancelled(), ToNotified::Nothing);
}

#[test]
fn complete_and_skip_stale_notified() {
    let st = State::new();
    st.transition_to_running();
    let prev = st.transition_to_complete();
    assert!(prev.is(RUNNING) && prev.is(JOIN_INTEREST));
    assert!(st.load().is(COMPLETE) && !st.load().is(RUNNING));
    assert_eq!(st.transition_to_cancelled(), ToNotified::Nothing);
    st.ref_inc();
    assert_eq!(st.transition_to_running(), ToRunning::Skip(false));
}

#[test]
fn join_waker_handshake() {
    let st = State::new();
    assert!(st.set_join_waker().is_ok());
    assert!(st.load().is(JOIN_WAKER));
    assert!(st.unset_join_waker().is_ok());
    assert!(st.set_join_waker().is_ok());
    st.transition_to_running();
    st.transition_to_complete();
    assert!(st.unset_join_waker().is_err());
    let prev = st.unset_join_interest();
    assert!(prev.is(COMPLETE));
    assert!(!st.load().is(JOIN_INTEREST));
}

#[test]
fn shutdown_claims_idle_tasks_only() {
    let st = State::new();
    assert!(st.transition_to_shutdown());
    let st = State::new();
    st.transition_to_running();
    assert!(!st.transition_to_shutdown());
    assert!(st.load().is(CANCELLED));
}

#[test]
fn last_reference() {
    let st = State::new();
    assert!(!st.ref_dec());
    assert!(!st.ref_dec());
    assert!(st.ref_dec());
}
