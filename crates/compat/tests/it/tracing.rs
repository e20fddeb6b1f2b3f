//! The `tracing` feature: task spans as tokio-console reads them, captured by a subscriber
//! of the test's own, and debug mode's reports as events.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use super::{flavours, on_runtime};

/// A span as the subscriber saw it.
#[derive(Clone, Debug, Default)]
struct SpanSeen {
    name: &'static str,
    target: &'static str,
    fields: HashMap<String, String>,
    enters: u64,
    exits: u64,
    closed: bool,
}

/// An event as the subscriber saw it, with the span entered on its thread, if any.
#[derive(Clone, Debug)]
struct EventSeen {
    target: String,
    level: tracing::Level,
    fields: HashMap<String, String>,
    in_span: Option<u64>,
}

#[derive(Default)]
struct Seen {
    spans: HashMap<u64, SpanSeen>,
    events: Vec<EventSeen>,
}

/// Records every span and event of the process (tests run in parallel: each looks only at
/// what its own uniquely named tasks produced).
#[derive(Default)]
struct Capture {
    next: AtomicU64,
    seen: Mutex<Seen>,
}

thread_local! {
    /// The spans entered on this thread, innermost last.
    static STACK: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let mut span = SpanSeen {
            name: attrs.metadata().name(),
            target: attrs.metadata().target(),
            ..SpanSeen::default()
        };
        attrs.record(&mut Fields(&mut span.fields));
        self.seen.lock().unwrap().spans.insert(id, span);
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(s) = self.seen.lock().unwrap().spans.get_mut(&span.into_u64()) {
            values.record(&mut Fields(&mut s.fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let seen = EventSeen {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields,
            in_span: STACK.with(|s| s.borrow().last().copied()),
        };
        self.seen.lock().unwrap().events.push(seen);
    }
    fn enter(&self, span: &Id) {
        STACK.with(|s| s.borrow_mut().push(span.into_u64()));
        if let Some(s) = self.seen.lock().unwrap().spans.get_mut(&span.into_u64()) {
            s.enters += 1;
        }
    }
    fn exit(&self, span: &Id) {
        STACK.with(|s| s.borrow_mut().pop());
        if let Some(s) = self.seen.lock().unwrap().spans.get_mut(&span.into_u64()) {
            s.exits += 1;
        }
    }
    fn try_close(&self, span: Id) -> bool {
        if let Some(s) = self.seen.lock().unwrap().spans.get_mut(&span.into_u64()) {
            s.closed = true;
        }
        true
    }
}

/// The process's one capturing subscriber, installed globally (worker threads must see it).
fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<&'static Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture: &'static Capture = Box::leak(Box::default());
        tracing::subscriber::set_global_default(Forward(capture))
            .expect("no other global subscriber in this test binary");
        capture
    })
}

/// A `Subscriber` that forwards to the leaked `Capture` (the global default must own one).
struct Forward(&'static Capture);

impl Subscriber for Forward {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        self.0.enabled(m)
    }
    fn new_span(&self, a: &Attributes<'_>) -> Id {
        self.0.new_span(a)
    }
    fn record(&self, s: &Id, v: &Record<'_>) {
        self.0.record(s, v)
    }
    fn record_follows_from(&self, s: &Id, f: &Id) {
        self.0.record_follows_from(s, f)
    }
    fn event(&self, e: &Event<'_>) {
        self.0.event(e)
    }
    fn enter(&self, s: &Id) {
        self.0.enter(s)
    }
    fn exit(&self, s: &Id) {
        self.0.exit(s)
    }
    fn try_close(&self, s: Id) -> bool {
        self.0.try_close(s)
    }
}

fn spans_with(field: &str, value: &str) -> Vec<(u64, SpanSeen)> {
    let seen = capture().seen.lock().unwrap();
    seen.spans
        .iter()
        .filter(|(_, s)| s.fields.get(field).map(String::as_str) == Some(value))
        .map(|(id, s)| (*id, s.clone()))
        .collect()
}

fn events_with(field: &str, value: &str) -> Vec<EventSeen> {
    let seen = capture().seen.lock().unwrap();
    seen.events
        .iter()
        .filter(|e| e.fields.get(field).map(String::as_str) == Some(value))
        .cloned()
        .collect()
}

#[test]
fn task_spans_follow_tokio_console_conventions() {
    capture();
    for (flavour, builder) in flavours() {
        let rt = eddy_compat::tracing::instrument(builder).build().unwrap();
        let name = format!("traced on {flavour}");
        let task_name = name.clone();
        on_runtime(flavour, rt, async move {
            let (task, line) = (
                eddy::task::spawn_named(&task_name, async {
                    for _ in 0..3 {
                        eddy::yield_now().await;
                    }
                    tracing::info!(marker = "inside the task");
                    eddy::task::id().unwrap().as_u64()
                }),
                line!(),
            );
            let id = task.id().as_u64();
            assert_eq!(task.await.unwrap(), id);
            let unnamed = eddy::spawn(async { eddy::task::id().unwrap().as_u64() });
            let unnamed_id = unnamed.await.unwrap();

            let spans = spans_with("task.name", &task_name);
            assert_eq!(spans.len(), 1, "one span for the task: {spans:?}");
            let (span_id, span) = &spans[0];
            assert_eq!(span.name, "runtime.spawn");
            assert_eq!(span.target, "tokio::task");
            assert_eq!(span.fields["kind"], "task");
            assert_eq!(span.fields["task.id"], id.to_string());
            assert!(
                span.fields["loc.file"].ends_with("tests/it/tracing.rs"),
                "{span:?}"
            );
            assert_eq!(span.fields["loc.line"], (line - 7).to_string(), "{span:?}");
            assert!(span.fields.contains_key("loc.col"), "{span:?}");
            assert!(span.fields.contains_key("size.bytes"), "{span:?}");
            // Four polls (three yields), each inside the span; the span closed with the task.
            assert_eq!(span.enters, 4, "{span:?}");
            assert_eq!(span.exits, 4, "{span:?}");
            assert!(span.closed, "{span:?}");
            // An event inside the task belongs to the task's span.
            let inside: Vec<_> = events_with("marker", "inside the task")
                .into_iter()
                .filter(|e| e.in_span == Some(*span_id))
                .collect();
            assert_eq!(inside.len(), 1);

            let unnamed = spans_with("task.id", &unnamed_id.to_string());
            let unnamed: Vec<_> = unnamed
                .iter()
                .filter(|(_, s)| s.name == "runtime.spawn")
                .collect();
            assert_eq!(unnamed.len(), 1, "{unnamed:?}");
            assert_eq!(unnamed[0].1.fields["task.name"], "");
        });
        let _ = name;
    }
}

#[test]
fn debug_reports_become_events() {
    capture();
    for (flavour, builder) in flavours() {
        let builder = builder
            .debug(true)
            .slow_poll_threshold(Duration::from_millis(5));
        let rt = eddy_compat::tracing::instrument(builder).build().unwrap();
        let slow = format!("slow on {flavour}");
        let stuck = format!("stuck on {flavour}");
        let (slow_name, stuck_name) = (slow.clone(), stuck.clone());
        on_runtime(flavour, rt, async move {
            // A poll that blocks its thread sixty times the threshold, so that even a
            // watchdog thread held up by a loaded machine sees it twice.
            eddy::task::spawn_named(&slow_name, async {
                std::thread::sleep(Duration::from_millis(300));
            })
            .await
            .unwrap();
            // A task nothing will ever wake, still pending when the runtime shuts down.
            // After its one poll it holds no waker anywhere: a lost wake.
            let (polled, was_polled) = tokio::sync::oneshot::channel();
            drop(eddy::task::spawn_named(&stuck_name, async move {
                polled.send(()).unwrap();
                std::future::pending::<()>().await
            }));
            was_polled.await.unwrap();
        });
        // `on_runtime` dropped the runtime: the shutdown listing has been sent.
        let slow_events = events_with("task.name", &slow);
        assert!(
            slow_events
                .iter()
                .any(
                    |e| e.fields.get("message").map(String::as_str) == Some("slow poll")
                        && e.level == tracing::Level::WARN
                        && e.target == "eddy::debug"
                ),
            "{slow_events:?}"
        );
        let stuck_events = events_with("task.name", &stuck);
        assert_eq!(stuck_events.len(), 1, "{stuck_events:?}");
        let event = &stuck_events[0];
        assert_eq!(event.fields["message"], "task pending at shutdown");
        assert_eq!(event.fields["lost_wake"], "true", "{event:?}");
        assert_eq!(event.fields["polls"], "1", "{event:?}");
    }
}

#[test]
fn shutdown_reports_become_events() {
    capture();
    for (flavour, builder) in flavours() {
        let left = format!("left running on {flavour}");
        let name = left.clone();
        on_runtime(flavour, builder.build().unwrap(), async move {
            let tracker = eddy::task::TaskTracker::new();
            tracker.spawn_named(&name, std::future::pending::<()>());
            tracker.spawn(async {});
            let report = tracker.shutdown(Duration::ZERO).await;
            eddy_compat::tracing::shutdown_report(&report);
        });
        let cancelled = events_with("task.name", &left);
        assert_eq!(cancelled.len(), 1, "{cancelled:?}");
        assert_eq!(cancelled[0].fields["message"], "task cancelled at shutdown");
        assert_eq!(cancelled[0].target, "eddy::shutdown");
    }
}
