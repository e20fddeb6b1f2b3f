//! Readiness edges on pipes: what is reported, when, and how often.

use std::io::Write;
use std::os::fd::AsRawFd;

use eddy_selector::{Events, Interest, Selector, Token};

use crate::support::{self, drain, event_for, pipe, quiet, wait};

#[test]
fn empty_pipe_reports_nothing() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (_reader, _writer) = pipe(&selector, Token(1), Interest::READABLE);
    assert!(quiet(&selector, &mut events).is_empty());
}

#[test]
fn written_pipe_is_readable_with_its_token() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (_reader, mut writer) = pipe(&selector, Token(42), Interest::READABLE);
    writer.write_all(b"x").unwrap();
    let got = wait(&selector, &mut events);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].token(), Token(42));
    assert!(got[0].is_readable());
    assert!(!got[0].is_writable());
    assert!(!got[0].is_read_closed());
}

#[test]
fn large_tokens_round_trip() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let token = Token(usize::MAX - 1);
    let (_reader, mut writer) = pipe(&selector, token, Interest::READABLE);
    writer.write_all(b"x").unwrap();
    assert_eq!(event_for(&selector, &mut events, token).token(), token);
}

#[test]
fn no_second_event_without_new_data() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (_reader, mut writer) = pipe(&selector, Token(1), Interest::READABLE);
    writer.write_all(b"abc").unwrap();
    assert_eq!(wait(&selector, &mut events).len(), 1);
    // Not drained, and nothing new: an edge-triggered selector stays silent.
    assert!(quiet(&selector, &mut events).is_empty());
}

#[test]
fn new_data_is_a_new_edge_even_if_not_drained() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (_reader, mut writer) = pipe(&selector, Token(1), Interest::READABLE);
    writer.write_all(b"abc").unwrap();
    assert_eq!(wait(&selector, &mut events).len(), 1);
    writer.write_all(b"def").unwrap();
    let got = wait(&selector, &mut events);
    assert_eq!(got.len(), 1);
    assert!(got[0].is_readable());
}

#[test]
fn drained_pipe_is_silent_until_written_again() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut reader, mut writer) = pipe(&selector, Token(1), Interest::READABLE);
    writer.write_all(&[7; 1000]).unwrap();
    assert_eq!(wait(&selector, &mut events).len(), 1);
    assert_eq!(drain(&mut reader), 1000);
    assert!(quiet(&selector, &mut events).is_empty());
    writer.write_all(b"more").unwrap();
    assert!(wait(&selector, &mut events)[0].is_readable());
    assert_eq!(drain(&mut reader), 4);
}

#[test]
fn writer_close_shows_read_closed() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (mut reader, writer) = pipe(&selector, Token(3), Interest::READABLE);
    drop(writer);
    let event = event_for(&selector, &mut events, Token(3));
    assert!(event.is_read_closed(), "{event:?}");
    assert_eq!(
        drain(&mut reader),
        0,
        "a closed, empty pipe reads end-of-stream"
    );
}

#[test]
fn reader_close_shows_write_closed_on_the_write_end() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (reader, writer) = std::io::pipe().unwrap();
    support::set_nonblocking(&writer);
    selector
        .register(writer.as_raw_fd(), Token(4), Interest::WRITABLE)
        .unwrap();
    let first = event_for(&selector, &mut events, Token(4));
    assert!(first.is_writable() && !first.is_write_closed(), "{first:?}");
    drop(reader);
    let event = event_for(&selector, &mut events, Token(4));
    assert!(event.is_write_closed() || event.is_error(), "{event:?}");
}

#[test]
fn deregister_stops_events() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (reader, mut writer) = pipe(&selector, Token(1), Interest::READABLE);
    selector.deregister(reader.as_raw_fd()).unwrap();
    writer.write_all(b"x").unwrap();
    assert!(quiet(&selector, &mut events).is_empty());
}

#[test]
fn reregister_changes_token_and_rearms_the_edge() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (reader, mut writer) = pipe(&selector, Token(1), Interest::READABLE);
    writer.write_all(b"x").unwrap();
    assert_eq!(wait(&selector, &mut events)[0].token(), Token(1));
    assert!(quiet(&selector, &mut events).is_empty());
    // The data is still there: re-registering reports the existing readiness again.
    selector
        .reregister(reader.as_raw_fd(), Token(2), Interest::READABLE)
        .unwrap();
    let got = wait(&selector, &mut events);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].token(), Token(2));
}

#[test]
fn small_buffer_delivers_the_rest_on_the_next_call() {
    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(2);
    let pipes: Vec<_> = (0..5)
        .map(|i| pipe(&selector, Token(i), Interest::READABLE))
        .collect();
    for (_, writer) in &pipes {
        (&*writer).write_all(b"x").unwrap();
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        let got = wait(&selector, &mut events);
        assert!(got.len() <= 2, "capacity 2 returned {}", got.len());
        seen.extend(got.iter().map(|e| e.token().0));
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        vec![0, 1, 2, 3, 4],
        "every ready fd is reported exactly once"
    );
    assert!(quiet(&selector, &mut events).is_empty());
}

#[test]
fn zero_capacity_rounds_up_to_one() {
    let events = Events::with_capacity(0);
    assert_eq!(events.capacity(), 1);
    assert!(events.is_empty());
    assert_eq!(events.iter().count(), 0);
}

#[test]
fn selector_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Selector>();
    assert_send_sync::<eddy_selector::Notifier>();
    assert_send_sync::<Events>();

    let selector = Selector::new().unwrap();
    let mut events = Events::with_capacity(64);
    // Eight threads register and write to their own pipes while this thread selects.
    let pipes = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let selector = &selector;
                s.spawn(move || {
                    let (reader, mut writer) = pipe(selector, Token(100 + i), Interest::READABLE);
                    writer.write_all(b"x").unwrap();
                    (reader, writer)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect::<Vec<_>>()
    });
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < pipes.len() {
        let got = wait(&selector, &mut events);
        assert!(!got.is_empty(), "lost readiness: saw only {seen:?}");
        seen.extend(got.iter().map(|e| e.token().0));
    }
    assert_eq!(seen, (100..108).collect());
}
