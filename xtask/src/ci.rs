//! `cargo xtask ci`: every check a submission must pass, in the order that fails fastest.

use crate::step::{self, Result, cargo};

pub(crate) fn run() -> Result {
    step::run("fmt", cargo().args(["fmt", "--all", "--", "--check"]))?;
    step::run(
        "clippy",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    crate::tidy::run()?;
    step::run(
        "test",
        cargo().args(["test", "--workspace", "--all-targets"]),
    )?;
    step::run("doctest", cargo().args(["test", "--workspace", "--doc"]))?;
    step::run(
        "doc",
        cargo()
            .args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    crate::examples::run()?;
    // The bench's quick mode asserts nothing about speed: it keeps the harness from rotting.
    crate::bench::run(&["--quick".to_owned()])?;
    // Every load and fault scenario at small counts; any loss, leak, hang or crash fails.
    crate::stress::run(&["--quick".to_owned()])?;
    // The kqueue targets linted, and the core suites run on i686 and on aarch64 (qemu).
    crate::cross::run(&["--run".to_owned()])?;
    crate::loom::run()?;
    crate::miri::run()?;
    println!("\nxtask ci: all steps passed");
    Ok(())
}
