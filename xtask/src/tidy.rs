//! `cargo xtask tidy`: repository conventions that neither rustc nor clippy checks.
//!
//! - Concurrency primitives (`std::sync::atomic`, `UnsafeCell`, `crossbeam_channel`) are
//!   imported only by a crate's `src/loom.rs`, so `cfg(eddy_loom)` swaps every one of them.
//! - Every `unsafe` block and `unsafe impl` carries a `// SAFETY:` comment, and every
//!   `unsafe fn` a `# Safety` section, including private ones clippy does not look at.
//! - Each runtime crate depends only on the eddy crates below it (`LAYERS`; the
//!   architecture invariants in docs/ARCHITECTURE.md): no back door upward or sideways.
//! - docs/testing.md's loom audit names every atomic, lock, condvar, once-cell and
//!   thread-local of the library crates, with a loom model that exists or the reason there
//!   is none (`loom_audit`).

mod loom_audit;

use std::fs;
use std::path::{Path, PathBuf};

use crate::step::{Failure, Result, root};

/// Paths that name a concurrency primitive loom must be able to replace.
const LOOM_SWITCHED: &[&str] = &[
    "std::sync::atomic",
    "core::sync::atomic",
    "crossbeam_channel",
];

/// The eddy crates each runtime crate may depend on (normal and target-specific
/// dependencies; dev-dependencies are free). A crate not listed here is a problem until it
/// is given its place.
const LAYERS: &[(&str, &[&str])] = &[
    ("wake", &[]),
    ("selector", &["eddy-wake"]),
    ("timer", &["eddy-wake"]),
    ("executor", &["eddy-wake"]),
    ("net", &["eddy-wake", "eddy-selector"]),
    (
        "eddy",
        &[
            "eddy-wake",
            "eddy-selector",
            "eddy-timer",
            "eddy-executor",
            "eddy-net",
        ],
    ),
    // The ecosystem's peers (hyper, tokio, tracing) meet eddy here, above the facade.
    ("compat", &["eddy"]),
];

pub(crate) fn run() -> Result {
    println!("\n==> [tidy] checking loom shims, SAFETY comments, crate layers and the loom audit");
    let root = root();
    let mut problems = check_layers(&root);
    problems.extend(loom_audit::check(&root));
    for dir in ["crates", "tests", "xtask"] {
        for file in rust_files(&root.join(dir)) {
            let text = fs::read_to_string(&file)
                .map_err(|e| Failure::new("tidy", format!("{}: {e}", file.display())))?;
            let shown = file
                .strip_prefix(&root)
                .unwrap_or(&file)
                .display()
                .to_string();
            if needs_loom_shim(&root, &file) {
                problems.extend(
                    check_loom_imports(&text)
                        .into_iter()
                        .map(|p| format!("{shown}:{p}")),
                );
            }
            // This file's own tests hold unsafe snippets inside string literals.
            if !file.ends_with("xtask/src/tidy.rs") {
                problems.extend(
                    check_safety_comments(&text)
                        .into_iter()
                        .map(|p| format!("{shown}:{p}")),
                );
            }
        }
    }
    if problems.is_empty() {
        println!("<== [tidy] ok");
        Ok(())
    } else {
        for p in &problems {
            eprintln!("tidy: {p}");
        }
        Err(Failure::new(
            "tidy",
            format!("{} convention violation(s), listed above", problems.len()),
        ))
    }
}

/// Every crate under `crates/` depends only on the eddy crates `LAYERS` allows it.
fn check_layers(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let Ok(entries) = fs::read_dir(root.join("crates")) else {
        return vec!["crates/: cannot be read".to_owned()];
    };
    for entry in entries.flatten() {
        let dir = entry.file_name().to_string_lossy().into_owned();
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&manifest) else {
            continue;
        };
        let Some((_, allowed)) = LAYERS.iter().find(|(d, _)| *d == dir) else {
            problems.push(format!(
                "crates/{dir}: not in tidy's LAYERS; say which eddy crates it may depend on"
            ));
            continue;
        };
        for dep in eddy_dependencies(&text) {
            if !allowed.contains(&dep.as_str()) {
                problems.push(format!(
                    "crates/{dir}/Cargo.toml: depends on `{dep}`, which is not below it \
                     (allowed: {allowed:?}; docs/ARCHITECTURE.md has each crate's invariant)"
                ));
            }
        }
    }
    problems
}

/// The `eddy*` crates named in a manifest's `[dependencies]` and
/// `[target.'...'.dependencies]` tables (not dev- or build-dependencies).
fn eddy_dependencies(manifest: &str) -> Vec<String> {
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in manifest.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_deps = t == "[dependencies]"
                || (t.starts_with("[target.") && t.ends_with(".dependencies]"));
            continue;
        }
        if in_deps && t.starts_with("eddy") {
            let name = t.split(['=', ' ', '.']).next().unwrap_or("");
            deps.push(name.to_owned());
        }
    }
    deps
}

/// Library code of a runtime crate, except the shim itself, must go through `crate::loom`.
fn needs_loom_shim(root: &Path, file: &Path) -> bool {
    let Ok(rel) = file.strip_prefix(root.join("crates")) else {
        return false;
    };
    let mut parts = rel.components().skip(1);
    let in_src = parts.next().is_some_and(|c| c.as_os_str() == "src");
    in_src && !rel.ends_with("src/loom.rs")
}

fn check_loom_imports(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for name in LOOM_SWITCHED {
            if code.contains(name) {
                problems.push(format!("{}: uses `{name}` directly; import it from `crate::loom` so eddy_loom can swap it", i + 1));
            }
        }
        // The std cell by path or by `use std::cell::{..., UnsafeCell}`; the shim's own
        // re-export (`crate::loom::UnsafeCell`) is fine.
        if code.contains("UnsafeCell")
            && (code.contains("std::cell") || code.contains("core::cell"))
        {
            problems.push(format!(
                "{}: uses std's `UnsafeCell`; import the cell from `crate::loom`",
                i + 1
            ));
        }
    }
    problems
}

fn check_safety_comments(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut problems = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let code = line.split("//").next().unwrap_or("").trim();
        if code.contains("unsafe {")
            || code.starts_with("unsafe impl")
            || code.contains(" unsafe impl")
        {
            if !line.contains("SAFETY:") && !comment_above(&lines, i, "SAFETY:") {
                problems.push(format!(
                    "{}: `unsafe` without a `// SAFETY:` comment saying why it is sound",
                    i + 1
                ));
            }
        } else if is_unsafe_fn(code) && !doc_above(&lines, i, "# Safety") {
            problems.push(format!(
                "{}: `unsafe fn` without a `# Safety` section listing its preconditions",
                i + 1
            ));
        }
    }
    problems
}

fn is_unsafe_fn(code: &str) -> bool {
    let code = code
        .trim_start_matches("pub(crate) ")
        .trim_start_matches("pub(super) ")
        .trim_start_matches("pub ");
    let code = code.trim_start_matches("const ");
    code.starts_with("unsafe fn ") || code.starts_with("unsafe extern \"C\" fn ")
}

/// Walks up from line `at` through the statement it belongs to and the comments above it,
/// looking for `needle` in a comment.
fn comment_above(lines: &[&str], at: usize, needle: &str) -> bool {
    for line in lines[..at].iter().rev() {
        let t = line.trim();
        if t.starts_with("//") {
            if t.contains(needle) {
                return true;
            }
            continue;
        }
        if t.is_empty() || t.ends_with(';') || t.ends_with('{') || t.ends_with('}') {
            return false;
        }
        // A continuation line of the same expression or an attribute: keep looking.
    }
    false
}

/// Walks up from line `at` through doc comments and attributes looking for `needle`.
fn doc_above(lines: &[&str], at: usize, needle: &str) -> bool {
    for line in lines[..at].iter().rev() {
        let t = line.trim();
        if t.starts_with("///") || t.starts_with("//") || t.starts_with("#[") {
            if t.contains(needle) {
                return true;
            }
            continue;
        }
        return false;
    }
    false
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                out.extend(rust_files(&path));
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workspace itself passes, so `cargo test` catches a violation even without the xtask.
    #[test]
    fn workspace_is_tidy() {
        if let Err(f) = run() {
            panic!("{}", f.why);
        }
    }

    #[test]
    fn unsafe_block_needs_safety_comment() {
        assert_eq!(
            check_safety_comments("fn f() {\n    unsafe { g() };\n}\n").len(),
            1
        );
        assert!(
            check_safety_comments(
                "fn f() {\n    // SAFETY: g has no preconditions.\n    unsafe { g() };\n}\n"
            )
            .is_empty()
        );
        let spanning = "fn f() {\n    // SAFETY: fine.\n    let n = cvt(\n        unsafe { g() },\n    );\n}\n";
        assert!(check_safety_comments(spanning).is_empty());
        let previous = "fn f() {\n    // SAFETY: for the first only.\n    unsafe { g() };\n    unsafe { h() };\n}\n";
        assert_eq!(check_safety_comments(previous).len(), 1);
    }

    #[test]
    fn unsafe_fn_needs_safety_section() {
        assert_eq!(
            check_safety_comments("/// Does it.\nunsafe fn f() {}\n").len(),
            1
        );
        assert!(check_safety_comments("/// Does it.\n///\n/// # Safety\n/// `p` is valid.\n#[inline]\npub(crate) unsafe fn f() {}\n").is_empty());
    }

    #[test]
    fn layers_read_only_normal_and_target_dependencies() {
        let manifest = "[package]\nname = \"x\"\n\n[dependencies]\neddy-wake = { workspace = true }\nlibc = \"1\"\n\n[target.'cfg(unix)'.dependencies]\neddy-net.workspace = true\n\n[dev-dependencies]\neddy = { path = \"..\" }\n";
        assert_eq!(eddy_dependencies(manifest), ["eddy-wake", "eddy-net"]);
    }

    #[test]
    fn atomics_must_come_from_the_shim() {
        assert_eq!(
            check_loom_imports("use std::sync::atomic::AtomicUsize;\n").len(),
            1
        );
        assert!(
            check_loom_imports(
                "use crate::loom::sync::atomic::AtomicUsize; // not std::sync::atomic\n"
            )
            .is_empty()
        );
    }
}
