use std::future::Future;
use std::panic::Location;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use super::*;

static READ: WaitOp = WaitOp::new(WaitKind::Fd, "TcpStream::read");
static SLEEP: WaitOp = WaitOp::new(WaitKind::Timer, "sleep");

#[test]
fn a_record_outside_any_poll_goes_nowhere() {
    record(&READ, 3, Location::caller());
    let slot = WaitSlot::new();
    let _poll = enter(&slot, 0);
    assert!(slot.read(0).is_none());
}

#[test]
fn the_last_wait_of_a_poll_wins_and_a_silent_poll_leaves_none() {
    let slot = WaitSlot::new();
    assert!(slot.read(0).is_none());
    {
        let _poll = enter(&slot, 0);
        record(&READ, 7, Location::caller());
        record(&SLEEP, 1_000, Location::caller());
    }
    let r = slot.read(0).expect("a record");
    assert_eq!(r.op.name(), "sleep", "the last wait wins");
    assert_eq!(r.op.kind(), WaitKind::Timer);
    assert_eq!(r.object, 1_000);
    assert_eq!(r.site.file(), file!());
    {
        let _poll = enter(&slot, 1);
    }
    assert!(
        slot.read(1).is_none(),
        "a poll that recorded nothing clears the slot"
    );
}

#[test]
fn quiet_keeps_the_wrapped_futures_record() {
    let slot = WaitSlot::new();
    {
        let _poll = enter(&slot, 0);
        record(&READ, 7, Location::caller());
        quiet(|| record(&SLEEP, 5, Location::caller()));
    }
    assert_eq!(slot.read(0).unwrap().op.name(), "TcpStream::read");
    {
        let _poll = enter(&slot, 0);
        quiet(|| record(&SLEEP, 5, Location::caller()));
        record(&SLEEP, 6, Location::caller());
    }
    assert_eq!(
        slot.read(0).unwrap().object,
        6,
        "quiet restores the poll's mark"
    );
}

#[test]
fn a_mark_records_only_if_nothing_did_since() {
    let slot = WaitSlot::new();
    {
        let _poll = enter(&slot, 0);
        let mark = Mark::now();
        record(&READ, 7, Location::caller());
        mark.record_if_silent(&SLEEP, 9, Location::caller());
    }
    assert_eq!(slot.read(0).unwrap().object, 7);
    {
        let _poll = enter(&slot, 0);
        let mark = Mark::now();
        mark.record_if_silent(&SLEEP, 9, Location::caller());
    }
    assert_eq!(slot.read(0).unwrap().object, 9);
    // Outside a poll a mark records nothing.
    Mark::now().record_if_silent(&SLEEP, 1, Location::caller());
}

#[test]
fn nested_polls_record_into_their_own_slots() {
    let (outer, inner) = (WaitSlot::new(), WaitSlot::new());
    {
        let _outer = enter(&outer, 0);
        {
            let _inner = enter(&inner, 0);
            record(&SLEEP, 1, Location::caller());
        }
        record(&READ, 2, Location::caller());
    }
    assert_eq!(inner.read(0).unwrap().object, 1);
    assert_eq!(outer.read(0).unwrap().object, 2);
}

#[test]
fn on_records_each_pending_with_the_callers_site() {
    let slot = WaitSlot::new();
    let mut left = 2;
    let site = Location::caller();
    let mut fut = pin!(on(
        &READ,
        9,
        site,
        std::future::poll_fn(move |_| {
            if left == 0 {
                return Poll::Ready(());
            }
            left -= 1;
            Poll::Pending
        })
    ));
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..2 {
        let _poll = enter(&slot, 0);
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    }
    let r = slot.read(0).unwrap();
    assert_eq!(
        (r.op.name(), r.object, r.site),
        ("TcpStream::read", 9, site)
    );
    let _poll = enter(&slot, 0);
    assert!(fut.as_mut().poll(&mut cx).is_ready());
}

#[test]
fn since_is_the_clock_when_recorded() {
    let slot = WaitSlot::new();
    set_clock_ms(4_242);
    let before: u32 = 4_242;
    {
        let _poll = enter(&slot, 0);
        record(&READ, 1, Location::caller());
    }
    let since = slot.read(0).unwrap().since_ms;
    assert_eq!(since, before);
}

#[test]
fn kinds_round_trip_through_their_names() {
    for kind in [
        WaitKind::Fd,
        WaitKind::Timer,
        WaitKind::Task,
        WaitKind::Sender,
        WaitKind::Notify,
        WaitKind::AnyTask,
        WaitKind::Signal,
        WaitKind::Process,
        WaitKind::Other,
    ] {
        assert_eq!(WaitKind::from_name(kind.as_str()), Some(kind));
    }
    assert_eq!(WaitKind::from_name("fdx"), None);
}
