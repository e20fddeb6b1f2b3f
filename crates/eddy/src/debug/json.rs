//! A dump as JSON, for tools: [`Dump::to_json`] writes it, [`DumpData::from_json`] reads it
//! back into plain data (a dump holds `&'static` locations, which no parser can make).
//!
//! The format, one object:
//!
//! ```json
//! {"eddy_dump": 1,
//!  "tasks": [{"id": 4, "name": "conn", "state": "idle",
//!             "spawned_at": {"file": "src/main.rs", "line": 21, "column": 17},
//!             "polls": 3, "busy_ns": null, "age_ns": 12000000, "parent": 1,
//!             "cancelled": false, "lost_wake": false,
//!             "wait": {"op": "TcpStream::read", "kind": "fd", "object": 12,
//!                      "at": {"file": "src/conn.rs", "line": 40, "column": 27},
//!                      "since_ns": 3200000000, "local": "127.0.0.1:5000",
//!                      "peer": "127.0.0.1:41234", "due_in_ns": null, "task": null,
//!                      "sender_used": null}}],
//!  "deadlocks": [{"tasks": [5, 6], "confirmed": true}]}
//! ```
//!
//! `kind` is `WaitKind::as_str` (`fd`, `timer`, `task`, `sender`, `notify`, `any_task`,
//! `signal`, `process`, `other`); `object` is the record's raw number; `local`/`peer` are set
//! for fds, `due_in_ns` for timers, `task` for a `JoinHandle`'s target and a sender's
//! holder (with `sender_used`). Readers must ignore members they do not know: later
//! versions add members, and change `eddy_dump` only for an incompatible change.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use eddy_executor::TaskInfo;
use eddy_wake::wait::WaitKind;

use super::dump::{Deadlock, Dump};
use super::wait::{Wait, WaitOn};

/// The format's version, in its `eddy_dump` member.
const VERSION: u64 = 1;

/// A dump as plain data: what [`Dump::to_json`] writes and [`DumpData::from_json`] reads.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DumpData {
    /// Every task, by id.
    pub tasks: Vec<TaskData>,
    /// The dump's deadlocks: each task waits on the next, the last on the first.
    pub deadlocks: Vec<(Vec<u64>, bool)>,
}

/// One task of a [`DumpData`]; the fields of [`TaskInfo`] as plain data.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TaskData {
    /// [`TaskInfo::id`].
    pub id: u64,
    /// [`TaskInfo::name`].
    pub name: Option<String>,
    /// The state as the dump prints it: `idle`, `scheduled`, `running`, `slow poll`,
    /// `complete`.
    pub state: String,
    /// [`TaskInfo::location`].
    pub spawned_at: SiteData,
    /// [`TaskInfo::polls`].
    pub polls: u64,
    /// [`TaskInfo::busy`], in nanoseconds.
    pub busy_ns: Option<u64>,
    /// [`TaskInfo::age`], in nanoseconds.
    pub age_ns: u64,
    /// [`TaskInfo::parent`].
    pub parent: Option<u64>,
    /// [`TaskInfo::cancelled`].
    pub cancelled: bool,
    /// [`TaskInfo::lost_wake`].
    pub lost_wake: bool,
    /// What it waits on ([`Dump::wait`]).
    pub wait: Option<WaitData>,
}

/// A source location.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SiteData {
    /// The file, as the compiler names it.
    pub file: String,
    /// The line, from 1.
    pub line: u32,
    /// The column, from 1.
    pub column: u32,
}

/// A [`Wait`] as plain data.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WaitData {
    /// [`Wait::op`].
    pub op: String,
    /// The kind's name (see the module docs).
    pub kind: String,
    /// The record's raw number (an fd, a task id, a signal, a pid, ...).
    pub object: u64,
    /// [`Wait::at`].
    pub at: SiteData,
    /// [`Wait::since`], in nanoseconds.
    pub since_ns: u64,
    /// For an fd: the local address.
    pub local: Option<String>,
    /// For an fd: the peer's address.
    pub peer: Option<String>,
    /// For a timer: time left, in nanoseconds.
    pub due_in_ns: Option<u64>,
    /// For a `JoinHandle`: the task awaited; for a sender: the task holding it.
    pub task: Option<u64>,
    /// For a sender: whether it was used in `task` (see [`WaitOn::Sender`]).
    pub sender_used: Option<bool>,
}

/// JSON that [`DumpData::from_json`] could not read: what was wrong and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    message: String,
    offset: usize,
}

impl JsonError {
    /// The byte offset in the input where reading failed.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not an eddy dump: {} at byte {}",
            self.message, self.offset
        )
    }
}

impl std::error::Error for JsonError {}

impl Dump {
    /// The dump as plain data.
    pub fn to_data(&self) -> DumpData {
        DumpData {
            tasks: self
                .tasks()
                .iter()
                .map(|t| task_data(t, self.wait(t.id)))
                .collect(),
            deadlocks: self
                .deadlocks()
                .into_iter()
                .map(|Deadlock { tasks, confirmed }| {
                    (tasks.iter().map(|t| t.as_u64()).collect(), confirmed)
                })
                .collect(),
        }
    }

    /// The dump as JSON (the format is in the docs of [`DumpData`]'s module and
    /// docs/debugging.md); [`DumpData::from_json`] reads it back.
    pub fn to_json(&self) -> String {
        self.to_data().to_json()
    }
}

fn site(l: &std::panic::Location<'_>) -> SiteData {
    SiteData {
        file: l.file().to_owned(),
        line: l.line(),
        column: l.column(),
    }
}

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn task_data(t: &TaskInfo, wait: Option<&Wait>) -> TaskData {
    TaskData {
        id: t.id.as_u64(),
        name: t.name.clone(),
        state: super::dump::state_name(t).to_owned(),
        spawned_at: site(t.location),
        polls: t.polls,
        busy_ns: t.busy.map(nanos),
        age_ns: nanos(t.age),
        parent: t.parent.map(|p| p.as_u64()),
        cancelled: t.cancelled,
        lost_wake: t.lost_wake,
        wait: wait.map(|w| wait_data(w, t)),
    }
}

fn wait_data(w: &Wait, t: &TaskInfo) -> WaitData {
    let record = t.wait.as_ref();
    let mut data = WaitData {
        op: w.op.to_owned(),
        kind: record
            .map_or(WaitKind::Other, |r| r.op.kind())
            .as_str()
            .to_owned(),
        object: record.map_or(0, |r| r.object),
        at: site(w.at),
        since_ns: nanos(w.since),
        ..WaitData::default()
    };
    match &w.on {
        WaitOn::Fd { local, peer, .. } => {
            data.local.clone_from(local);
            data.peer.clone_from(peer);
        }
        WaitOn::Timer { due_in } => data.due_in_ns = Some(nanos(*due_in)),
        WaitOn::Task(id) => data.task = Some(id.as_u64()),
        WaitOn::Sender { task, used } => {
            data.task = task.map(|t| t.as_u64());
            data.sender_used = Some(*used);
        }
        _ => {}
    }
    data
}

// ---- Writing ----

impl DumpData {
    /// The data as JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(256 * (self.tasks.len() + 1));
        let _ = write!(out, "{{\"eddy_dump\":{VERSION},\"tasks\":[");
        for (i, t) in self.tasks.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_task(&mut out, t);
        }
        out.push_str("],\"deadlocks\":[");
        for (i, (tasks, confirmed)) in self.deadlocks.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"tasks\":[");
            for (j, id) in tasks.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{id}");
            }
            let _ = write!(out, "],\"confirmed\":{confirmed}}}");
        }
        out.push_str("]}");
        out
    }

    /// Reads what [`to_json`](DumpData::to_json) (or [`Dump::to_json`]) wrote. Members it
    /// does not know are skipped, so newer dumps still read.
    ///
    /// # Errors
    ///
    /// [`JsonError`] for text that is not JSON, not an eddy dump, or a dump of an
    /// incompatible version, with the offset of the problem.
    pub fn from_json(text: &str) -> Result<DumpData, JsonError> {
        let mut p = Parser { s: text, i: 0 };
        let value = p.value(0)?;
        p.ws();
        if p.i != text.len() {
            return Err(p.error("text after the dump"));
        }
        dump_from(&value).map_err(|m| JsonError {
            message: m,
            offset: 0,
        })
    }
}

fn write_task(out: &mut String, t: &TaskData) {
    let _ = write!(out, "{{\"id\":{},\"name\":", t.id);
    write_opt_str(out, t.name.as_deref());
    out.push_str(",\"state\":");
    write_str(out, &t.state);
    out.push_str(",\"spawned_at\":");
    write_site(out, &t.spawned_at);
    let _ = write!(out, ",\"polls\":{},\"busy_ns\":", t.polls);
    write_opt_u64(out, t.busy_ns);
    let _ = write!(out, ",\"age_ns\":{},\"parent\":", t.age_ns);
    write_opt_u64(out, t.parent);
    let _ = write!(
        out,
        ",\"cancelled\":{},\"lost_wake\":{},\"wait\":",
        t.cancelled, t.lost_wake
    );
    match &t.wait {
        None => out.push_str("null"),
        Some(w) => {
            out.push_str("{\"op\":");
            write_str(out, &w.op);
            out.push_str(",\"kind\":");
            write_str(out, &w.kind);
            let _ = write!(out, ",\"object\":{},\"at\":", w.object);
            write_site(out, &w.at);
            let _ = write!(out, ",\"since_ns\":{},\"local\":", w.since_ns);
            write_opt_str(out, w.local.as_deref());
            out.push_str(",\"peer\":");
            write_opt_str(out, w.peer.as_deref());
            out.push_str(",\"due_in_ns\":");
            write_opt_u64(out, w.due_in_ns);
            out.push_str(",\"task\":");
            write_opt_u64(out, w.task);
            out.push_str(",\"sender_used\":");
            match w.sender_used {
                None => out.push_str("null"),
                Some(b) => {
                    let _ = write!(out, "{b}");
                }
            }
            out.push('}');
        }
    }
    out.push('}');
}

fn write_site(out: &mut String, s: &SiteData) {
    out.push_str("{\"file\":");
    write_str(out, &s.file);
    let _ = write!(out, ",\"line\":{},\"column\":{}}}", s.line, s.column);
}

fn write_opt_u64(out: &mut String, v: Option<u64>) {
    match v {
        None => out.push_str("null"),
        Some(v) => {
            let _ = write!(out, "{v}");
        }
    }
}

fn write_opt_str(out: &mut String, v: Option<&str>) {
    match v {
        None => out.push_str("null"),
        Some(v) => write_str(out, v),
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---- Reading ----

/// A parsed JSON value. Numbers are kept as unsigned integers: a dump has no others.
#[derive(Debug)]
enum Value {
    Null,
    Bool(bool),
    Number(u64),
    String(String),
    Array(Vec<Value>),
    Object(BTreeMap<String, Value>),
}

/// How deeply arrays and objects may nest: a dump needs 5; hostile input must not overflow
/// the stack.
const MAX_DEPTH: usize = 32;

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> JsonError {
        JsonError {
            message: message.to_owned(),
            offset: self.i,
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.as_bytes().get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> Result<(), JsonError> {
        self.ws();
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", b as char)))
        }
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, JsonError> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a JSON value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.ws();
        match self.peek() {
            Some(b'n') => self.literal("null", Value::Null),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'0'..=b'9') => self.number(),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Value::Array(items));
                        }
                        _ => return Err(self.error("expected `,` or `]`")),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut members = BTreeMap::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(Value::Object(members));
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.error("expected a member name"));
                    }
                    let key = self.string()?;
                    self.eat(b':')?;
                    let value = self.value(depth + 1)?;
                    members.insert(key, value);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Value::Object(members));
                        }
                        _ => return Err(self.error("expected `,` or `}`")),
                    }
                }
            }
            Some(b'-') => Err(self.error("negative numbers are not in eddy dumps")),
            _ => Err(self.error("expected a JSON value")),
        }
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.i;
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return Err(self.error("fractions are not in eddy dumps"));
        }
        self.s[start..self.i]
            .parse()
            .map(Value::Number)
            .map_err(|_| JsonError {
                message: "number out of range".to_owned(),
                offset: start,
            })
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.error("expected four hex digits"))?;
        self.i += 4;
        Ok(u32::from_str_radix(digits, 16).expect("invariant: four hex digits"))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.i += 1; // the opening quote
        let mut out = String::new();
        loop {
            let rest = &self.s[self.i..];
            let Some(c) = rest.chars().next() else {
                return Err(self.error("unterminated string"));
            };
            self.i += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.error("unterminated string"));
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&hi) {
                                if !self.s[self.i..].starts_with("\\u") {
                                    return Err(self.error("unpaired surrogate"));
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&lo) {
                                    return Err(self.error("unpaired surrogate"));
                                }
                                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                            } else {
                                hi
                            };
                            out.push(
                                char::from_u32(code)
                                    .ok_or_else(|| self.error("unpaired surrogate"))?,
                            );
                        }
                        _ => return Err(self.error("unknown escape")),
                    }
                }
                c if u32::from(c) < 0x20 => {
                    return Err(self.error("control character in a string"));
                }
                c => out.push(c),
            }
        }
    }
}

fn object<'v>(v: &'v Value, what: &str) -> Result<&'v BTreeMap<String, Value>, String> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(format!("{what} is not an object")),
    }
}

fn member<'v>(m: &'v BTreeMap<String, Value>, key: &str) -> Result<&'v Value, String> {
    m.get(key)
        .ok_or_else(|| format!("member `{key}` is missing"))
}

fn u64_of(m: &BTreeMap<String, Value>, key: &str) -> Result<u64, String> {
    match member(m, key)? {
        Value::Number(n) => Ok(*n),
        _ => Err(format!("`{key}` is not a number")),
    }
}

fn u32_of(m: &BTreeMap<String, Value>, key: &str) -> Result<u32, String> {
    u32::try_from(u64_of(m, key)?).map_err(|_| format!("`{key}` is out of range"))
}

fn opt_u64(m: &BTreeMap<String, Value>, key: &str) -> Result<Option<u64>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(Some(*n)),
        Some(_) => Err(format!("`{key}` is not a number or null")),
    }
}

fn bool_of(m: &BTreeMap<String, Value>, key: &str) -> Result<bool, String> {
    match member(m, key)? {
        Value::Bool(b) => Ok(*b),
        _ => Err(format!("`{key}` is not true or false")),
    }
}

fn opt_bool(m: &BTreeMap<String, Value>, key: &str) -> Result<Option<bool>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("`{key}` is not true, false or null")),
    }
}

fn str_of(m: &BTreeMap<String, Value>, key: &str) -> Result<String, String> {
    match member(m, key)? {
        Value::String(s) => Ok(s.clone()),
        _ => Err(format!("`{key}` is not a string")),
    }
}

fn opt_str(m: &BTreeMap<String, Value>, key: &str) -> Result<Option<String>, String> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` is not a string or null")),
    }
}

fn array<'v>(m: &'v BTreeMap<String, Value>, key: &str) -> Result<&'v [Value], String> {
    match member(m, key)? {
        Value::Array(a) => Ok(a),
        _ => Err(format!("`{key}` is not an array")),
    }
}

fn site_from(v: &Value) -> Result<SiteData, String> {
    let m = object(v, "a location")?;
    Ok(SiteData {
        file: str_of(m, "file")?,
        line: u32_of(m, "line")?,
        column: u32_of(m, "column")?,
    })
}

fn dump_from(v: &Value) -> Result<DumpData, String> {
    let m = object(v, "the dump")?;
    match m.get("eddy_dump") {
        Some(Value::Number(VERSION)) => {}
        Some(Value::Number(n)) => {
            return Err(format!("version {n}; this eddy reads version {VERSION}"));
        }
        _ => return Err("member `eddy_dump` (the format version) is missing".to_owned()),
    }
    let tasks = array(m, "tasks")?
        .iter()
        .map(task_from)
        .collect::<Result<_, _>>()?;
    let deadlocks = array(m, "deadlocks")?
        .iter()
        .map(|d| {
            let d = object(d, "a deadlock")?;
            let tasks = array(d, "tasks")?
                .iter()
                .map(|t| match t {
                    Value::Number(n) => Ok(*n),
                    _ => Err("a deadlock's task is not a number".to_owned()),
                })
                .collect::<Result<_, _>>()?;
            Ok((tasks, bool_of(d, "confirmed")?))
        })
        .collect::<Result<_, String>>()?;
    Ok(DumpData { tasks, deadlocks })
}

fn task_from(v: &Value) -> Result<TaskData, String> {
    let m = object(v, "a task")?;
    let wait = match m.get("wait") {
        None | Some(Value::Null) => None,
        Some(w) => {
            let w = object(w, "a wait")?;
            Some(WaitData {
                op: str_of(w, "op")?,
                kind: str_of(w, "kind")?,
                object: u64_of(w, "object")?,
                at: site_from(member(w, "at")?)?,
                since_ns: u64_of(w, "since_ns")?,
                local: opt_str(w, "local")?,
                peer: opt_str(w, "peer")?,
                due_in_ns: opt_u64(w, "due_in_ns")?,
                task: opt_u64(w, "task")?,
                sender_used: opt_bool(w, "sender_used")?,
            })
        }
    };
    Ok(TaskData {
        id: u64_of(m, "id")?,
        name: opt_str(m, "name")?,
        state: str_of(m, "state")?,
        spawned_at: site_from(member(m, "spawned_at")?)?,
        polls: u64_of(m, "polls")?,
        busy_ns: opt_u64(m, "busy_ns")?,
        age_ns: u64_of(m, "age_ns")?,
        parent: opt_u64(m, "parent")?,
        cancelled: bool_of(m, "cancelled")?,
        lost_wake: bool_of(m, "lost_wake")?,
        wait,
    })
}

#[cfg(all(test, not(eddy_loom)))]
mod tests;
