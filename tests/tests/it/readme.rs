//! The README's newcomer commands name things that exist.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

/// Every `cargo run -p PACKAGE --example NAME` line of the README points at an example file
/// in that package, so the first command a newcomer types cannot silently rot.
#[test]
fn readme_examples_exist() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md is readable");
    let mut checked = 0;
    for line in readme
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("cargo run"))
    {
        let words: Vec<&str> = line.split_whitespace().collect();
        let after = |flag: &str| {
            words
                .iter()
                .position(|w| *w == flag)
                .and_then(|i| words.get(i + 1))
                .copied()
        };
        let (Some(package), Some(example)) = (after("-p"), after("--example")) else {
            panic!("README command `{line}` should name a package (-p) and an example (--example)");
        };
        let dir = package.strip_prefix("eddy-").unwrap_or(package);
        let file = root()
            .join("crates")
            .join(dir)
            .join("examples")
            .join(format!("{example}.rs"));
        assert!(
            file.is_file(),
            "README runs `{line}`, but {} does not exist",
            file.display()
        );
        checked += 1;
    }
    assert!(
        checked > 0,
        "the README should show a newcomer one `cargo run -p ... --example ...` command"
    );
    assert!(
        readme.contains("cargo xtask ci"),
        "the README should give the test command, `cargo xtask ci`"
    );
}
