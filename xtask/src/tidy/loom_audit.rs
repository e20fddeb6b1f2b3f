//! The loom audit (docs/testing.md, "Loom coverage") checked against the code, so the table
//! cannot drift from what the library crates declare.
//!
//! - **Primitives.** Every struct field, tuple struct and `static` of a library crate
//!   (`crates/*/src`, test-only modules left out) whose type names an atomic
//!   ([`ATOMICS`]) or a lock, condition variable or once-cell ([`LOCKS`]), and every static
//!   a `thread_local!` declares, must be named by a row of its crate's table: a row whose
//!   first column holds the file's path relative to `src` in backticks (`` `inject.rs` ``)
//!   followed, before the next path, by a backticked span with the primitive's name as a
//!   whole word (`` `Inject::inner: Mutex` ``, `` `len` ``). A path inside parentheses
//!   speaks for the rest of the parentheses only. A static inside a function may be named
//!   by the function instead (`` `next_task_id` ``).
//! - **Models.** Each backticked snake_case name in a row's third column, outside
//!   parentheses and not possessive (`` `wake`'s fence ``), is a model and must be a `fn`
//!   of a `loom_tests` module of that crate. A row naming none must say why: it starts with
//!   `not modelled` or `not loom-modellable` and the reason (such a row claims no model, so
//!   it may name the real-thread tests instead), or `covered` and by what, or is `—` for
//!   per-thread state (its protocol column starts with `per thread`).
//! - **Paths.** Every path a first column names is a file of that crate's `src`.
//!
//! Unsafe cells are not scanned: they belong to the primitive whose protocol guards them.

use std::fs;
use std::path::Path;

/// Type names of the atomics the scan looks for (loom's and std's share them).
const ATOMICS: &[&str] = &[
    "AtomicBool",
    "AtomicU8",
    "AtomicU16",
    "AtomicU32",
    "AtomicU64",
    "AtomicUsize",
    "AtomicI8",
    "AtomicI16",
    "AtomicI32",
    "AtomicI64",
    "AtomicIsize",
    "AtomicPtr",
    "AtomicWaker",
];

/// Locks, condition variables and once-cells; the generic ones count only with their `<`,
/// so `MutexGuard` and a `Mutex::new` call do not.
const LOCKS: &[(&str, bool)] = &[
    ("Mutex", true),
    ("RwLock", true),
    ("OnceLock", true),
    ("Condvar", false),
    ("Once", false),
];

/// How a model column starts that says there is no model, before the reason.
const NO_MODEL: &[&str] = &["not modelled", "not loom-modellable"];

/// How a model column starts that describes the models covering a primitive in words.
const COVERED: &str = "covered";

/// Where the audit lives, relative to the workspace root.
const DOC: &str = "docs/testing.md";

/// One library crate's sources: `dir` under `crates/`, its package name, and every `.rs`
/// file under its `src` (test-only ones too: the audit leaves them out itself).
struct CrateSrc {
    dir: String,
    package: String,
    files: Vec<(String, String)>,
}

/// A shared concurrency primitive found in a source file.
struct Primitive {
    line: usize,
    name: String,
    /// The function a static is declared in, which may name it instead.
    func: Option<String>,
    /// What it is, for the message: the type name found, or `thread_local!`.
    kind: String,
}

/// One row of an audit table.
struct Row {
    line: usize,
    primitive: String,
    protocol: String,
    model: String,
}

/// Reads the audit and the library crates under `root` and checks one against the other.
pub(super) fn check(root: &Path) -> Vec<String> {
    let Ok(doc) = fs::read_to_string(root.join(DOC)) else {
        return vec![format!("{DOC}: cannot be read")];
    };
    let mut crates = Vec::new();
    let Ok(entries) = fs::read_dir(root.join("crates")) else {
        return vec!["crates/: cannot be read".to_owned()];
    };
    for entry in entries.flatten() {
        let dir = entry.file_name().to_string_lossy().into_owned();
        let Ok(manifest) = fs::read_to_string(entry.path().join("Cargo.toml")) else {
            continue;
        };
        let src = entry.path().join("src");
        let files = super::rust_files(&src)
            .into_iter()
            .filter_map(|f| {
                let text = fs::read_to_string(&f).ok()?;
                let rel = f.strip_prefix(&src).ok()?.to_string_lossy().into_owned();
                Some((rel, text))
            })
            .collect();
        crates.push(CrateSrc {
            dir,
            package: package_name(&manifest).unwrap_or_default(),
            files,
        });
    }
    crates.sort_by(|a, b| a.dir.cmp(&b.dir));
    audit(&doc, &crates)
}

/// The problems between the audit text `doc` and the crates' sources.
fn audit(doc: &str, crates: &[CrateSrc]) -> Vec<String> {
    let tables = tables(doc);
    let mut problems = Vec::new();
    for krate in crates {
        let rows: &[Row] = tables
            .iter()
            .find(|(package, _)| *package == krate.package)
            .map_or(&[], |(_, rows)| rows);
        let test_only: Vec<String> = krate
            .files
            .iter()
            .flat_map(|(rel, text)| test_only_children(rel, text))
            .collect();
        let mut models = Vec::new();
        for (rel, text) in &krate.files {
            let whole = rel == "loom_tests.rs" || rel.ends_with("/loom_tests.rs");
            models.extend(model_names(text, whole));
        }
        for (rel, text) in &krate.files {
            if test_only.iter().any(|t| rel == t || rel.starts_with(t)) {
                continue;
            }
            for p in primitives(text) {
                if !rows.iter().any(|row| names(&row.primitive, rel, &p)) {
                    problems.push(format!(
                        "crates/{}/src/{rel}:{}: `{}` ({}) is not in {DOC}'s loom audit \
                         (### {}); add a row whose first column names `{rel}` and `{}`, and \
                         whose model column names its loom model or says `not modelled (why)`",
                        krate.dir, p.line, p.name, p.kind, krate.package, p.name
                    ));
                }
            }
        }
        for row in rows {
            problems.extend(check_row(row, krate, &models));
        }
    }
    for (package, rows) in &tables {
        if let Some(row) = rows.first()
            && !crates.iter().any(|k| k.package == *package)
        {
            let line = row.line;
            problems.push(format!(
                "{DOC}:{line}: the loom audit has a table for `{package}`, which is no crate \
                 under crates/"
            ));
        }
    }
    problems
}

/// A row's own problems: paths that are no file, models that are no `fn`, or neither a
/// model nor a reason.
fn check_row(row: &Row, krate: &CrateSrc, models: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for span in spans(&row.primitive)
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| is_path(s))
    {
        if !krate.files.iter().any(|(rel, _)| *rel == span) {
            problems.push(format!(
                "{DOC}:{}: `{span}` is not a file of crates/{}/src; correct the row's path",
                row.line, krate.dir
            ));
        }
    }
    let claims = if NO_MODEL.iter().any(|phrase| row.model.starts_with(phrase)) {
        // A row that says there is no model may name the real-thread tests instead.
        Vec::new()
    } else {
        model_claims(&row.model)
    };
    for claim in &claims {
        if !models.contains(claim) {
            problems.push(format!(
                "{DOC}:{}: model `{claim}` is not a fn of any loom_tests module of \
                 crates/{}/src; name the model by its current name, or drop it",
                row.line, krate.dir
            ));
        }
    }
    if claims.is_empty() && !gives_reason(&row.model, &row.protocol) {
        problems.push(format!(
            "{DOC}:{}: the row names no loom model and gives no reason; name the model in \
             backticks, or start the model column with `not modelled (why)` (`—` is for \
             per-thread state, whose protocol column starts with `per thread`)",
            row.line
        ));
    }
    problems
}

/// Whether a model column without models explains itself.
fn gives_reason(model: &str, protocol: &str) -> bool {
    let model = model.trim();
    if model == "—" {
        return protocol.trim().starts_with("per thread");
    }
    NO_MODEL.iter().chain([&COVERED]).any(|phrase| {
        model.strip_prefix(phrase).is_some_and(|rest| {
            rest.trim_matches(|c: char| c.is_whitespace() || "():;,.".contains(c))
                .chars()
                .any(char::is_alphanumeric)
        })
    })
}

/// Whether a row's first column names primitive `p` of file `rel`.
fn names(first: &str, rel: &str, p: &Primitive) -> bool {
    spans(first).iter().any(|(path, span)| {
        path.as_deref() == Some(rel)
            && !is_path(span)
            && words(span).any(|w| w == p.name || Some(w) == p.func.as_deref())
    })
}

/// The backticked spans of a cell, each with the path it falls under: the last path
/// span before it at its parenthesis depth or outside.
fn spans(cell: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    let mut paths: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    let mut span: Option<String> = None;
    for c in cell.chars() {
        match (&mut span, c) {
            (Some(s), '`') => {
                let s = std::mem::take(s);
                span = None;
                if is_path(&s) {
                    paths.retain(|(d, _)| *d < depth);
                    paths.push((depth, s.clone()));
                }
                out.push((paths.last().map(|(_, p)| p.clone()), s));
            }
            (Some(s), c) => s.push(c),
            (None, '`') => span = Some(String::new()),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth = depth.saturating_sub(1);
                paths.retain(|(d, _)| *d <= depth);
            }
            (None, _) => {}
        }
    }
    out
}

/// A span that is a source path: `multi_thread/mod.rs`.
fn is_path(span: &str) -> bool {
    span.ends_with(".rs") && !span.contains(char::is_whitespace)
}

/// The identifiers in `text`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// The models a model column names: backticked snake_case identifiers outside parentheses,
/// other than a possessive (`` `wake`'s ``) and the module name `loom_tests`.
fn model_claims(cell: &str) -> Vec<String> {
    let mut claims = Vec::new();
    let mut depth = 0usize;
    let mut rest = cell;
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '`' => {
                let Some(end) = rest.find('`') else { break };
                let span = &rest[..end];
                rest = &rest[end + 1..];
                let snake = span.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                    && span
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if depth == 0 && snake && span != "loom_tests" && !rest.starts_with("'s") {
                    claims.push(span.to_owned());
                }
            }
            _ => {}
        }
    }
    claims
}

/// The audit's tables under "## Loom coverage", by the package name that starts each
/// `###` heading (`eddy-net`, `eddy (facade)` → `eddy`).
fn tables(doc: &str) -> Vec<(String, Vec<Row>)> {
    let mut tables: Vec<(String, Vec<Row>)> = Vec::new();
    let mut in_section = false;
    for (i, line) in doc.lines().enumerate() {
        if let Some(heading) = line.strip_prefix("## ") {
            in_section = heading.trim() == "Loom coverage";
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some(heading) = line.strip_prefix("### ") {
            let package = heading.split_whitespace().next().unwrap_or("");
            tables.push((package.to_owned(), Vec::new()));
            continue;
        }
        let Some((_, rows)) = tables.last_mut() else {
            continue;
        };
        let cells = cells(line);
        if cells.len() < 3 || cells[0] == "primitive" || cells[0].starts_with("---") {
            continue;
        }
        rows.push(Row {
            line: i + 1,
            primitive: cells[0].clone(),
            protocol: cells[1].clone(),
            model: cells[2].clone(),
        });
    }
    tables
}

/// The cells of a Markdown table row (`|` inside backticks does not split); none for
/// other lines.
fn cells(line: &str) -> Vec<String> {
    let Some(inner) = line.trim().strip_prefix('|') else {
        return Vec::new();
    };
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut in_code = false;
    for c in inner.chars() {
        match c {
            '`' => {
                in_code = !in_code;
                cell.push(c);
            }
            '|' if !in_code => cells.push(std::mem::take(&mut cell).trim().to_owned()),
            c => cell.push(c),
        }
    }
    if !cell.trim().is_empty() {
        cells.push(cell.trim().to_owned());
    }
    cells
}

/// The `name` of a manifest's `[package]`.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_package = t == "[package]";
        } else if in_package && let Some(value) = t.strip_prefix("name") {
            let value = value.trim_start().strip_prefix('=')?.trim();
            return Some(value.trim_matches('"').to_owned());
        }
    }
    None
}

/// The paths (relative to `src`) of modules file `rel` declares under a test-only cfg: a
/// file `NAME.rs` and a folder prefix `NAME/` each.
fn test_only_children(rel: &str, text: &str) -> Vec<String> {
    let (dir, stem) = match rel.rsplit_once('/') {
        Some((dir, file)) => (format!("{dir}/"), file.trim_end_matches(".rs")),
        None => (String::new(), rel.trim_end_matches(".rs")),
    };
    let children = if matches!(stem, "lib" | "main" | "mod") {
        dir
    } else {
        format!("{dir}{stem}/")
    };
    let mut out = Vec::new();
    let mut test_attr = false;
    for line in text.lines() {
        let code = code_of(line).trim();
        if code.is_empty() {
            continue;
        }
        if code.starts_with("#[") {
            test_attr |= is_test_attr(code);
            continue;
        }
        if test_attr
            && let Some(name) = item_name(code, "mod")
            && code.ends_with(';')
        {
            out.push(format!("{children}{name}.rs"));
            out.push(format!("{children}{name}/"));
        }
        test_attr = false;
    }
    out
}

/// `#[cfg(test)]`, `#[cfg(all(test, ...))]` or `#[test]`: the item after it is test code.
fn is_test_attr(attr: &str) -> bool {
    attr == "#[test]" || attr == "#[cfg(test)]" || attr.starts_with("#[cfg(all(test,")
}

/// The names of the `fn`s of a loom_tests file (`whole`) or of the `mod loom_tests { .. }`
/// blocks in another file.
fn model_names(text: &str, whole: bool) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside: Option<usize> = None;
    for line in text.lines() {
        let code = code_of(line);
        let indent = code.len() - code.trim_start().len();
        let code = code.trim();
        if let Some(at) = inside
            && indent == at
            && code.starts_with('}')
        {
            inside = None;
        } else if inside.is_none()
            && item_name(code, "mod") == Some("loom_tests")
            && code.ends_with('{')
        {
            inside = Some(indent);
        } else if (whole || inside.is_some())
            && let Some(name) = item_name(code, "fn")
        {
            names.push(name.to_owned());
        }
    }
    names
}

/// A block the scan is inside, with the indentation of the line that opened it.
enum Block {
    Fn(String),
    Struct,
    ThreadLocal,
    /// Test-only code: nothing in it counts.
    Test,
}

/// The shared concurrency primitives a source file declares, outside test-only items.
///
/// Line-based, relying on rustfmt's layout: a block closes at a `}` line as indented as
/// the line that opened it, and a struct's fields sit one level (four spaces) inside it.
fn primitives(text: &str) -> Vec<Primitive> {
    let mut found: Vec<Primitive> = Vec::new();
    let mut stack: Vec<(usize, Block)> = Vec::new();
    let mut test_attr = false;
    // A field whose type may continue on the next lines: (line, name, type so far).
    let mut field: Option<(usize, String, String)> = None;
    let mut in_comment = false;
    for (i, line) in text.lines().enumerate() {
        if in_comment {
            in_comment = !line.contains("*/");
            continue;
        }
        let code = code_of(line);
        let trimmed = code.trim();
        if trimmed.starts_with("/*") {
            in_comment = !trimmed.contains("*/");
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        let indent = code.len() - code.trim_start().len();
        let struct_at = match stack.last() {
            Some((at, Block::Struct)) => Some(*at),
            _ => None,
        };
        // A field's type continues on lines indented deeper than the field.
        if let Some((_, _, ty)) = &mut field
            && struct_at.is_some_and(|at| indent > at + 4)
        {
            ty.push_str(trimmed);
            continue;
        }
        finish_field(&mut found, field.take());
        if trimmed.starts_with('}') {
            stack.retain(|(at, _)| *at < indent);
            continue;
        }
        if stack.iter().any(|(_, b)| matches!(b, Block::Test)) {
            continue;
        }
        if trimmed.starts_with("#[") {
            test_attr |= is_test_attr(trimmed);
            continue;
        }
        let opens = !trimmed.ends_with(';') && !trimmed.ends_with("{}");
        if std::mem::take(&mut test_attr) {
            if opens {
                stack.push((indent, Block::Test));
            }
            continue;
        }
        if trimmed.contains("thread_local!") {
            if trimmed.ends_with('{') {
                stack.push((indent, Block::ThreadLocal));
            }
            continue;
        }
        if let Some(name) = item_name(trimmed, "fn") {
            if opens {
                stack.push((indent, Block::Fn(name.to_owned())));
            }
            continue;
        }
        if let Some(name) = item_name(trimmed, "struct") {
            let after = &trimmed[trimmed.find(name).map_or(0, |at| at + name.len())..];
            let generics_end = if after.starts_with('<') {
                after.find('>').map_or(0, |at| at + 1)
            } else {
                0
            };
            if after[generics_end..].starts_with('(') {
                if let Some(kind) = primitive_in(after) {
                    record(
                        &mut found,
                        Primitive {
                            line: i + 1,
                            name: name.to_owned(),
                            func: None,
                            kind: kind.to_owned(),
                        },
                    );
                }
            } else if opens {
                stack.push((indent, Block::Struct));
            }
            continue;
        }
        if let Some(name) = item_name(trimmed, "static") {
            let name = name.trim_start_matches("mut ");
            let ty = trimmed.split_once(':').map_or("", |(_, ty)| ty);
            let ty = ty.split(" = ").next().unwrap_or(ty);
            let func = stack.iter().rev().find_map(|(_, b)| match b {
                Block::Fn(f) => Some(f.clone()),
                _ => None,
            });
            let kind = match stack.last() {
                Some((_, Block::ThreadLocal)) => Some("thread_local!"),
                _ => primitive_in(ty),
            };
            if let Some(kind) = kind {
                record(
                    &mut found,
                    Primitive {
                        line: i + 1,
                        name: name.to_owned(),
                        func,
                        kind: kind.to_owned(),
                    },
                );
            }
            continue;
        }
        if struct_at.is_some_and(|at| indent == at + 4)
            && let Some((name, ty)) = field_of(trimmed)
        {
            field = Some((i + 1, name.to_owned(), ty.to_owned()));
        }
    }
    finish_field(&mut found, field);
    found
}

/// Records a field, once its type is complete, if that type is a primitive's.
fn finish_field(found: &mut Vec<Primitive>, field: Option<(usize, String, String)>) {
    if let Some((line, name, ty)) = field
        && let Some(kind) = primitive_in(&ty)
    {
        record(
            found,
            Primitive {
                line,
                name,
                func: None,
                kind: kind.to_owned(),
            },
        );
    }
}

/// Adds `p` unless it is already there: the `cfg(eddy_loom)` and std twins of a
/// thread-local are one primitive.
fn record(found: &mut Vec<Primitive>, p: Primitive) {
    if !found.iter().any(|q| q.name == p.name && q.func == p.func) {
        found.push(p);
    }
}

/// A line with its `//` comment removed.
fn code_of(line: &str) -> &str {
    line.split("//").next().unwrap_or("")
}

/// `name` and `Type` of a field line `pub(crate) name: Type,`.
fn field_of(code: &str) -> Option<(&str, &str)> {
    let code = strip_visibility(code);
    let (name, ty) = code.split_once(':')?;
    let ident = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    (ident && ty.starts_with(' ')).then_some((name, ty.trim()))
}

/// The name of the `keyword` item a line declares (`pub(super) const unsafe fn NAME(`),
/// if it declares one.
fn item_name<'a>(code: &'a str, keyword: &str) -> Option<&'a str> {
    let mut rest = strip_visibility(code);
    loop {
        let (word, tail) = rest.split_once(' ')?;
        if word == keyword {
            let tail = tail.trim_start_matches("mut ");
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            return (end > 0).then_some(&tail[..end]);
        }
        if !matches!(word, "const" | "async" | "unsafe" | "extern" | "\"C\"") {
            return None;
        }
        rest = tail;
    }
}

/// `code` without a leading `pub` or `pub(..)`.
fn strip_visibility(code: &str) -> &str {
    if let Some(rest) = code.strip_prefix("pub(") {
        rest.split_once(") ").map_or(code, |(_, rest)| rest)
    } else {
        code.strip_prefix("pub ").unwrap_or(code)
    }
}

/// The first atomic, lock, condition variable or once-cell a type names.
fn primitive_in(ty: &str) -> Option<&'static str> {
    let mut rest = ty;
    while !rest.is_empty() {
        let start = rest
            .find(|c: char| c.is_alphanumeric() || c == '_')
            .unwrap_or(rest.len());
        rest = &rest[start..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (word, after) = rest.split_at(end);
        if let Some(atomic) = ATOMICS.iter().find(|a| **a == word) {
            return Some(atomic);
        }
        if let Some((lock, _)) = LOCKS
            .iter()
            .find(|(l, generic)| *l == word && (!generic || after.starts_with('<')))
        {
            return Some(lock);
        }
        rest = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_of(text: &str) -> Vec<String> {
        primitives(text).into_iter().map(|p| p.name).collect()
    }

    #[test]
    fn fields_statics_and_thread_locals_are_found() {
        let src = "\
pub(crate) struct Shared {
    /// The lock. `fake: AtomicUsize` in a comment is no field.
    pub(super) inner: Mutex<Inner>,
    count: u64,
    per_turn: [AtomicUsize; 4],
    long: Arc<
        OnceLock<Thing>,
    >,
}

struct Word(AtomicU64);
struct Plain(u64);

fn helper(shared: &Mutex<Inner>, n: AtomicUsize) -> u64 {
    let local: Mutex<u8> = Mutex::new(0);
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    Shared {
        inner: Mutex::new(Inner),
    };
    0
}

thread_local! {
    /// Per thread.
    static CURRENT: Cell<u8> = const { Cell::new(0) };
}

static GLOBAL: OnceLock<u8> = OnceLock::new();
";
        assert_eq!(
            names_of(src),
            [
                "inner", "per_turn", "long", "Word", "NEXT", "CURRENT", "GLOBAL"
            ]
        );
        let next = primitives(src).into_iter().find(|p| p.name == "NEXT");
        assert_eq!(next.and_then(|p| p.func).as_deref(), Some("helper"));
    }

    #[test]
    fn test_only_code_is_left_out() {
        let src = "\
#[cfg(all(test, eddy_loom))]
mod loom_tests {
    struct Counter(AtomicUsize);
}

#[cfg(test)]
mod tests;

struct Kept {
    a: AtomicBool,
}
";
        assert_eq!(names_of(src), ["a"]);
        assert_eq!(
            test_only_children("task/mod.rs", src),
            ["task/tests.rs", "task/tests/"]
        );
        assert_eq!(
            test_only_children("inject.rs", src),
            ["inject/tests.rs", "inject/tests/"]
        );
    }

    #[test]
    fn generic_types_count_only_with_their_parameters() {
        assert_eq!(primitive_in("MutexGuard<'_, T>"), None);
        assert_eq!(primitive_in("Arc<std::sync::Mutex<bool>>"), Some("Mutex"));
        assert_eq!(primitive_in("[Once; 3]"), Some("Once"));
        assert_eq!(primitive_in("OnceLockish"), None);
    }

    #[test]
    fn a_path_in_parentheses_speaks_for_them_only() {
        let first = "`current_thread/mod.rs` `inject: Inject` (`inject.rs`, `len`), `woken`";
        let scoped: Vec<_> = spans(first)
            .into_iter()
            .filter(|(_, s)| !is_path(s))
            .map(|(p, s)| (p.unwrap_or_default(), s))
            .collect();
        assert_eq!(
            scoped,
            [
                (
                    "current_thread/mod.rs".to_owned(),
                    "inject: Inject".to_owned()
                ),
                ("inject.rs".to_owned(), "len".to_owned()),
                ("current_thread/mod.rs".to_owned(), "woken".to_owned()),
            ]
        );
    }

    #[test]
    fn models_are_the_fns_of_loom_tests_modules() {
        let file = "#[cfg(all(test, eddy_loom))]\nmod loom_tests;\n\nfn not_a_model() {}\n\n\
                    #[cfg(all(test, eddy_loom))]\nmod loom_tests {\n    #[test]\n    \
                    fn a_model() {}\n}\n\nfn after() {}\n";
        assert_eq!(model_names(file, false), ["a_model"]);
        assert_eq!(
            model_names("fn helper() {}\nfn model() {}\n", true),
            ["helper", "model"]
        );
    }

    #[test]
    fn models_are_unparenthesised_snake_case_names() {
        let cell = "`multi_thread/loom_tests.rs`: *new* `a_model` (a `ThreadParker`, \
                    `not_this`). Shown to fail with `wake`'s fence removed; `task/list.rs` \
                    `loom_tests`: `b_model`";
        assert_eq!(model_claims(cell), ["a_model", "b_model"]);
    }

    const SRC: &str = "\
struct Idle {
    num_sleeping: AtomicUsize,
}
";

    const MODELS: &str = "\
#[test]
fn idle_protocol_no_lost_wakeup() {}
";

    fn krate() -> CrateSrc {
        CrateSrc {
            dir: "executor".to_owned(),
            package: "eddy-executor".to_owned(),
            files: vec![
                ("idle.rs".to_owned(), SRC.to_owned()),
                ("loom_tests.rs".to_owned(), MODELS.to_owned()),
            ],
        }
    }

    fn doc(row: &str) -> String {
        format!(
            "# Testing\n\n## Loom coverage\n\n### eddy-executor\n\n\
             | primitive | protocol | model |\n| --- | --- | --- |\n{row}\n\n## Next\n"
        )
    }

    #[test]
    fn a_modelled_or_explained_primitive_passes() {
        let modelled = "| `idle.rs` `Idle::num_sleeping` | the idle protocol | \
                        `loom_tests.rs`: `idle_protocol_no_lost_wakeup` |";
        assert_eq!(audit(&doc(modelled), &[krate()]), Vec::<String>::new());
        let explained = "| `idle.rs` `num_sleeping: AtomicUsize` | none: a statistic | \
                         not modelled (counter only) |";
        assert_eq!(audit(&doc(explained), &[krate()]), Vec::<String>::new());
        // A row without a model may cite the tests that do cover it.
        let cited = "| `idle.rs` `num_sleeping` | a signal handler | not loom-modellable \
                     (a signal handler); the `ctrl_c` tests send real signals |";
        assert_eq!(audit(&doc(cited), &[krate()]), Vec::<String>::new());
    }

    #[test]
    fn a_primitive_missing_from_the_table_fails() {
        let other = "| `idle.rs` `num_searching` | none | not modelled (counter only) |";
        let problems = audit(&doc(other), &[krate()]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("crates/executor/src/idle.rs:2: `num_sleeping`"));
        // The name alone, under another file's path, is not enough.
        let elsewhere = "| `loom_tests.rs` `num_sleeping` | none | not modelled (counter only) |";
        assert_eq!(audit(&doc(elsewhere), &[krate()]).len(), 1);
    }

    #[test]
    fn a_row_naming_a_model_that_does_not_exist_fails() {
        let renamed = "| `idle.rs` `num_sleeping` | the idle protocol | \
                       `loom_tests.rs`: `idle_protocol_no_lost_wakeup`, `old_name` |";
        let problems = audit(&doc(renamed), &[krate()]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("model `old_name` is not a fn"));
    }

    #[test]
    fn a_row_without_model_or_reason_fails() {
        for model in ["", "—", "not modelled", "later"] {
            let row = format!("| `idle.rs` `num_sleeping` | the idle protocol | {model} |");
            assert_eq!(audit(&doc(&row), &[krate()]).len(), 1, "{model:?}");
        }
        let per_thread = "| `idle.rs` `num_sleeping` | per thread, never shared | — |";
        assert!(audit(&doc(per_thread), &[krate()]).is_empty());
    }

    #[test]
    fn a_row_naming_a_missing_file_fails() {
        let stale =
            "| `idle.rs` `num_sleeping`, `gone.rs` `x` | none | not modelled (no protocol) |";
        let problems = audit(&doc(stale), &[krate()]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("`gone.rs` is not a file"));
    }
}
