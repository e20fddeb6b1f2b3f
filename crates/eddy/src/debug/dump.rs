//! The task dump: every live task as a tree, what each waits on, and the deadlocks those
//! waits form.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Instant;

use eddy_executor::{TaskId, TaskInfo, TaskState};

use super::wait::{Wait, resolve};

/// A snapshot of every live task of a runtime: from [`Handle::dump`](crate::Handle::dump).
///
/// `Display` prints it as an indented tree (each task under the task that spawned it):
///
/// ```text
/// eddy task dump: 3 tasks
/// TASK        STATE          POLLS      BUSY       AGE  NAME / SPAWNED AT
/// 1           idle               2         -      1.2s  "acceptor" src/main.rs:10:5
///                                                         waits on TcpListener::accept fd 7 (0.0.0.0:8080) for 1.2s at src/main.rs:12:40
/// └─ 4        scheduled          1         -     12ms   src/main.rs:21:17
///    └─ 9     slow poll          1     110ms    110ms   "report" src/main.rs:30:13
/// ```
///
/// Each waiting task's line is followed by what it waits on ([`Wait`]); cycles of tasks
/// waiting on each other follow the tree ([`deadlocks`](Dump::deadlocks)). Taking a dump
/// never stops the runtime: see docs/debugging.md. [`to_json`](Dump::to_json) gives it to
/// tools.
#[derive(Clone, Debug)]
pub struct Dump {
    tasks: Vec<TaskInfo>,
    /// What `tasks[i]` waits on.
    waits: Vec<Option<Wait>>,
}

impl Dump {
    /// The dump of `tasks`, with timers' time left measured against `clock_now` (the
    /// runtime's clock, which may be paused).
    pub(crate) fn new(mut tasks: Vec<TaskInfo>, clock_now: Instant) -> Dump {
        tasks.sort_by_key(|t| t.id);
        let now_ms = eddy_executor::wait_clock_ms();
        let waits = tasks
            .iter()
            .map(|t| t.wait.as_ref().map(|r| resolve(r, now_ms, clock_now)))
            .collect();
        Dump { tasks, waits }
    }

    /// What task `id` waits on: `None` if it is not in the dump, is not waiting (running,
    /// scheduled, never polled), or waits on something eddy does not know (a future from
    /// another crate).
    pub fn wait(&self, id: TaskId) -> Option<&Wait> {
        let i = self.tasks.binary_search_by_key(&id, |t| t.id).ok()?;
        self.waits[i].as_ref()
    }

    /// Every cycle of idle tasks each waiting on the next (through a `JoinHandle` or a
    /// oneshot's sender): none of them can ever finish. A cycle is `confirmed` when every
    /// step is certain ([`Wait::waits_for`]); one through a sender eddy only saw created
    /// (it may since have moved to a task outside the cycle) is not.
    pub fn deadlocks(&self) -> Vec<Deadlock> {
        let live: HashSet<TaskId> = self.tasks.iter().map(|t| t.id).collect();
        // Each task waits on at most one other: the edges form a functional graph, whose
        // cycles a walk from every task finds once each.
        let next: HashMap<TaskId, (TaskId, bool)> = self
            .tasks
            .iter()
            .zip(&self.waits)
            .filter(|(t, _)| t.state == TaskState::Idle && !t.cancelled)
            .filter_map(|(t, w)| {
                let (to, certain) = w.as_ref()?.waits_for()?;
                (to != t.id && live.contains(&to)).then_some((t.id, (to, certain)))
            })
            .collect();
        let mut done: HashSet<TaskId> = HashSet::new();
        let mut out = Vec::new();
        for t in &self.tasks {
            let mut path: Vec<TaskId> = Vec::new();
            let mut at = t.id;
            while !done.contains(&at) {
                if let Some(start) = path.iter().position(|&p| p == at) {
                    let mut tasks = path[start..].to_vec();
                    let confirmed = tasks.iter().all(|id| next[id].1);
                    // The smallest id first, so the same cycle always prints the same.
                    let min = (0..tasks.len())
                        .min_by_key(|&i| tasks[i])
                        .expect("invariant: a cycle has a task");
                    tasks.rotate_left(min);
                    out.push(Deadlock { tasks, confirmed });
                    break;
                }
                path.push(at);
                match next.get(&at) {
                    Some(&(to, _)) => at = to,
                    None => break,
                }
            }
            done.extend(path);
        }
        out.sort_by_key(|d| d.tasks[0]);
        out
    }

    /// Every task, by id.
    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }

    /// How many tasks are alive.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether no task is alive.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Tasks pending with no waker left: nothing can ever wake them.
    pub fn lost_wakes(&self) -> impl Iterator<Item = &TaskInfo> {
        self.tasks.iter().filter(|t| t.lost_wake)
    }

    /// The tasks in tree order, each with its depth: roots (spawned from outside any task,
    /// or whose parent is gone) by id, each followed by its children.
    fn tree(&self) -> Vec<Row<'_>> {
        let mut children: HashMap<TaskId, Vec<&TaskInfo>> = HashMap::new();
        let live: std::collections::HashSet<TaskId> = self.tasks.iter().map(|t| t.id).collect();
        let mut roots = Vec::new();
        for t in &self.tasks {
            match t.parent.filter(|p| live.contains(p)) {
                Some(p) => children.entry(p).or_default().push(t),
                None => roots.push(t),
            }
        }
        let mut out = Vec::with_capacity(self.tasks.len());
        // Depth-first, iteratively: a chain of a million tasks must not overflow the stack.
        let mut stack: Vec<Row<'_>> = roots
            .into_iter()
            .rev()
            .map(|task| Row {
                depth: 0,
                last: true,
                task,
            })
            .collect();
        while let Some(row) = stack.pop() {
            if let Some(kids) = children.get(&row.task.id) {
                let n = kids.len();
                stack.extend(kids.iter().enumerate().rev().map(|(i, task)| Row {
                    depth: row.depth + 1,
                    last: i + 1 == n,
                    task,
                }));
            }
            out.push(row);
        }
        out
    }
}

/// One line of the tree: a task, its depth and whether it is its parent's last child.
struct Row<'a> {
    depth: usize,
    last: bool,
    task: &'a TaskInfo,
}

pub(super) fn state_name(t: &TaskInfo) -> &'static str {
    match t.state {
        TaskState::Idle => "idle",
        TaskState::Scheduled => "scheduled",
        TaskState::Running => "running",
        TaskState::SlowPoll => "slow poll",
        TaskState::Complete => "complete",
        _ => "other",
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.tasks.len();
        writeln!(
            f,
            "eddy task dump: {n} task{}",
            if n == 1 { "" } else { "s" }
        )?;
        if n == 0 {
            return Ok(());
        }
        writeln!(
            f,
            "{:<12}{:<12}{:>8}{:>10}{:>10}  NAME / SPAWNED AT",
            "TASK", "STATE", "POLLS", "BUSY", "AGE"
        )?;
        for Row {
            depth,
            last,
            task: t,
        } in self.tree()
        {
            let indent = match depth {
                0 => String::new(),
                _ => format!(
                    "{}{} ",
                    "   ".repeat(depth - 1),
                    if last { "└─" } else { "├─" }
                ),
            };
            let id = format!("{indent}{}", t.id);
            let busy = t
                .busy
                .map_or_else(|| "-".to_owned(), |b| format!("{b:.0?}"));
            let age = format!("{:.1?}", t.age);
            write!(
                f,
                "{id:<12}{:<12}{:>8}{busy:>10}{age:>10}  ",
                state_name(t),
                t.polls
            )?;
            if let Some(name) = &t.name {
                write!(f, "\"{name}\" ")?;
            }
            write!(f, "{}", t.location)?;
            if t.cancelled {
                write!(f, "  [cancelled]")?;
            }
            if t.lost_wake {
                write!(f, "  [LOST WAKE: no waker left, nothing can wake it]")?;
            }
            writeln!(f)?;
            if t.state == TaskState::Idle
                && let Some(wait) = self.wait(t.id)
            {
                writeln!(f, "{:54}waits on {wait}", "")?;
            }
        }
        for deadlock in self.deadlocks() {
            self.write_deadlock(f, &deadlock)?;
        }
        Ok(())
    }
}

impl Dump {
    fn task(&self, id: TaskId) -> Option<&TaskInfo> {
        let i = self.tasks.binary_search_by_key(&id, |t| t.id).ok()?;
        Some(&self.tasks[i])
    }

    /// `task 5 "worker"`, or `task 5`.
    fn label(&self, id: TaskId) -> String {
        match self.task(id).and_then(|t| t.name.as_deref()) {
            Some(name) => format!("task {id} \"{name}\""),
            None => format!("task {id}"),
        }
    }

    fn write_deadlock(&self, f: &mut fmt::Formatter<'_>, d: &Deadlock) -> fmt::Result {
        let chain: Vec<String> = d
            .tasks
            .iter()
            .chain(d.tasks.first())
            .map(|&id| self.label(id))
            .collect();
        if d.confirmed {
            writeln!(
                f,
                "DEADLOCK: {}: none of them can finish",
                chain.join(" → ")
            )?;
        } else {
            writeln!(
                f,
                "POSSIBLE DEADLOCK: {} (unconfirmed: a Sender eddy only saw created may have \
                 moved to another task)",
                chain.join(" → ")
            )?;
        }
        for &id in &d.tasks {
            if let Some(wait) = self.wait(id) {
                writeln!(f, "  {} waits on {wait}", self.label(id))?;
            }
        }
        Ok(())
    }
}

/// A cycle of tasks each waiting on the next: from [`Dump::deadlocks`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Deadlock {
    /// The tasks, smallest id first; each waits on the next, the last on the first.
    pub tasks: Vec<TaskId>,
    /// Whether every step is certain (see [`Dump::deadlocks`]).
    pub confirmed: bool,
}
