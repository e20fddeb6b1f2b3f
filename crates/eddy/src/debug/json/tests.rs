use proptest::prelude::*;

use super::*;

fn site() -> impl Strategy<Value = SiteData> {
    (".{0,12}", 0..u32::MAX, 0..u32::MAX).prop_map(|(file, line, column)| SiteData {
        file,
        line,
        column,
    })
}

fn wait() -> impl Strategy<Value = WaitData> {
    (
        (".{0,10}", "[a-z_]{0,8}", any::<u64>(), site(), any::<u64>()),
        (
            proptest::option::of(".{0,10}"),
            proptest::option::of(".{0,10}"),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<bool>()),
        ),
    )
        .prop_map(
            |((op, kind, object, at, since_ns), (local, peer, due_in_ns, task, sender_used))| {
                WaitData {
                    op,
                    kind,
                    object,
                    at,
                    since_ns,
                    local,
                    peer,
                    due_in_ns,
                    task,
                    sender_used,
                }
            },
        )
}

fn task() -> impl Strategy<Value = TaskData> {
    (
        (
            any::<u64>(),
            proptest::option::of(any::<String>()),
            "[a-z ]{0,10}",
            site(),
            any::<u64>(),
        ),
        (
            proptest::option::of(any::<u64>()),
            any::<u64>(),
            proptest::option::of(any::<u64>()),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(wait()),
        ),
    )
        .prop_map(
            |(
                (id, name, state, spawned_at, polls),
                (busy_ns, age_ns, parent, cancelled, lost_wake, wait),
            )| TaskData {
                id,
                name,
                state,
                spawned_at,
                polls,
                busy_ns,
                age_ns,
                parent,
                cancelled,
                lost_wake,
                wait,
            },
        )
}

proptest! {
    /// Any dump data, names with quotes, escapes, control characters and non-BMP text
    /// included, reads back equal.
    #[test]
    fn data_round_trips(
        tasks in proptest::collection::vec(task(), 0..6),
        deadlocks in proptest::collection::vec(
            (proptest::collection::vec(any::<u64>(), 1..4), any::<bool>()), 0..3),
    ) {
        let data = DumpData { tasks, deadlocks };
        let json = data.to_json();
        prop_assert_eq!(DumpData::from_json(&json).unwrap(), data);
    }

    /// Bytes that are not a dump give an error, never a panic.
    #[test]
    fn garbage_is_an_error(text in ".{0,64}") {
        let _ = DumpData::from_json(&text);
    }

    /// A dump cut short anywhere is an error, never a panic.
    #[test]
    fn truncated_dumps_are_errors(tasks in proptest::collection::vec(task(), 1..3), cut in 0.0..1.0f64) {
        let json = DumpData { tasks, deadlocks: vec![] }.to_json();
        let mut at = (json.len() as f64 * cut) as usize;
        while !json.is_char_boundary(at) {
            at -= 1;
        }
        prop_assert!(DumpData::from_json(&json[..at]).is_err());
    }
}

#[test]
fn escapes_from_other_writers_are_read() {
    let json = r#" { "eddy_dump" : 1, "tasks" : [ { "id": 3, "name": "a\u00e9\ud83d\ude00\/\b\f",
        "state": "idle", "spawned_at": {"file": "f", "line": 1, "column": 2}, "polls": 0,
        "age_ns": 5, "cancelled": false, "lost_wake": true, "extra": [1, {"x": null}] } ],
        "deadlocks": [], "newer_member": true } "#;
    let data = DumpData::from_json(json).unwrap();
    assert_eq!(data.tasks[0].name.as_deref(), Some("aé😀/\u{8}\u{c}"));
    assert_eq!(data.tasks[0].busy_ns, None);
    assert!(data.tasks[0].wait.is_none());
}

#[test]
fn errors_say_what_and_where() {
    let e = DumpData::from_json(r#"{"eddy_dump": 2, "tasks": [], "deadlocks": []}"#).unwrap_err();
    assert!(e.to_string().contains("version 2"), "{e}");
    let e = DumpData::from_json(r#"{"tasks": [}"#).unwrap_err();
    assert_eq!(e.offset(), 11, "{e}");
    let deep = "[".repeat(10_000);
    assert!(
        DumpData::from_json(&deep)
            .unwrap_err()
            .to_string()
            .contains("nested")
    );
    assert!(DumpData::from_json(r#""\ud800""#).is_err());
}
