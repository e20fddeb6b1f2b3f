//! Tracing (feature `tracing`): a span per task that its polls enter, and debug mode's
//! reports as events, named the way tokio-console reads tokio's own.
//!
//! [`instrument`] installs it on a runtime builder:
//!
//! ```
//! let rt = eddy_compat::tracing::instrument(eddy::Runtime::builder().debug(true)).build()?;
//! rt.block_on(async { eddy::spawn(async {}).await.unwrap() });
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! What it emits:
//!
//! - **One span per task**, target `tokio::task`, name `runtime.spawn`, level `TRACE`, no
//!   parent (a task outlives the code that spawned it), with tokio's fields: `kind`
//!   (`"task"`), `task.name` (empty when unnamed), `task.id` (eddy's task id, as dumps show
//!   it), `size.bytes` (the spawned future's size), `loc.file`, `loc.line`, `loc.col` (the
//!   spawn site). Each poll enters and exits it; it closes when the task's future is
//!   dropped (completed or cancelled).
//! - **Slow polls** (debug mode on): a `WARN` event, target `eddy::debug`, message
//!   `slow poll`, with `task.id`, `task.name`, `loc.file`, `loc.line`, `loc.col`,
//!   `thread`, `elapsed_ms`, `threshold_ms`, `finished`.
//! - **Tasks pending at shutdown** (debug mode on): one `WARN` event per task, target
//!   `eddy::debug`, message `task pending at shutdown`, with `task.id`, `task.name`,
//!   `loc.*`, `state`, `polls` and `lost_wake` (`true`: nothing can wake it any more).
//! - **Graceful shutdown reports** of [`serve`](crate::serve) and of any
//!   [`ShutdownReport`] passed to [`shutdown_report`]: one `INFO` event with the counts,
//!   target `eddy::shutdown`, and one `WARN` event per cancelled task.
//!
//! What tokio-console shows, and what it cannot: see docs/ecosystem.md ("tracing and
//! tokio-console").

use std::sync::Arc;

use eddy::debug::Dump;
use eddy::executor::SlowPoll;
use eddy::task::{ShutdownReport, SpawnedTask, TaskHook, TaskPolls};

/// Installs task spans, slow-poll events and shutdown-listing events on `builder`. Replaces
/// any `on_slow_poll`, `on_pending_at_shutdown` or `task_hook` set before. Debug mode's
/// events need debug mode on (`Builder::debug(true)` or `EDDY_DEBUG=1`); the spans do not.
pub fn instrument(builder: eddy::runtime::Builder) -> eddy::runtime::Builder {
    builder
        .task_hook(Arc::new(TaskSpans))
        .on_slow_poll(slow_poll)
        .on_pending_at_shutdown(pending_at_shutdown)
}

/// The task hook behind [`instrument`]: a `runtime.spawn` span per task.
#[derive(Clone, Copy, Debug, Default)]
pub struct TaskSpans;

impl TaskHook for TaskSpans {
    fn spawned(&self, task: &SpawnedTask<'_>) -> Option<Box<dyn TaskPolls>> {
        let span = tracing::trace_span!(
            target: "tokio::task",
            parent: None,
            "runtime.spawn",
            kind = %"task",
            task.name = %task.name.unwrap_or_default(),
            task.id = task.id.as_u64(),
            size.bytes = task.size,
            loc.file = task.location.file(),
            loc.line = task.location.line(),
            loc.col = task.location.column(),
        );
        // With no subscriber interested, the span is disabled: skip the enter/exit calls.
        (!span.is_disabled()).then(|| Box::new(TaskSpan(span)) as Box<dyn TaskPolls>)
    }
}

struct TaskSpan(tracing::Span);

impl TaskPolls for TaskSpan {
    fn poll(&self, poll: &mut dyn FnMut()) {
        let _entered = self.0.enter();
        poll();
    }
}

fn slow_poll(report: &SlowPoll) {
    tracing::event!(
        target: "eddy::debug",
        tracing::Level::WARN,
        task.id = report.task.as_u64(),
        task.name = report.name.as_deref().unwrap_or_default(),
        loc.file = report.location.file(),
        loc.line = report.location.line(),
        loc.col = report.location.column(),
        thread = report.thread.as_str(),
        elapsed_ms = report.elapsed.as_millis() as u64,
        threshold_ms = report.threshold.as_millis() as u64,
        finished = report.finished,
        "slow poll"
    );
}

fn pending_at_shutdown(dump: &Dump) {
    for task in dump.tasks() {
        tracing::event!(
            target: "eddy::debug",
            tracing::Level::WARN,
            task.id = task.id.as_u64(),
            task.name = task.name.as_deref().unwrap_or_default(),
            loc.file = task.location.file(),
            loc.line = task.location.line(),
            loc.col = task.location.column(),
            state = ?task.state,
            polls = task.polls,
            lost_wake = task.lost_wake,
            "task pending at shutdown"
        );
    }
}

/// Emits a [`TaskTracker`](eddy::task::TaskTracker)'s shutdown report as events: one
/// `INFO` event (target `eddy::shutdown`, message `shutdown`, fields `finished`,
/// `panicked`, `cancelled`, `grace_ms`) and one `WARN` event per cancelled task
/// (message `task cancelled at shutdown`, fields `task.id` (0 when unknown), `task.name`,
/// `loc.*`). [`serve`](crate::serve) calls it after its drain.
pub fn shutdown_report(report: &ShutdownReport) {
    tracing::event!(
        target: "eddy::shutdown",
        tracing::Level::INFO,
        finished = report.finished(),
        panicked = report.panicked(),
        cancelled = report.cancelled().len(),
        grace_ms = report.grace().as_millis() as u64,
        "shutdown"
    );
    for task in report.cancelled() {
        tracing::event!(
            target: "eddy::shutdown",
            tracing::Level::WARN,
            task.id = task.id().map_or(0, |id| id.as_u64()),
            task.name = task.name().unwrap_or_default(),
            loc.file = task.location().file(),
            loc.line = task.location().line(),
            loc.col = task.location().column(),
            "task cancelled at shutdown"
        );
    }
}
