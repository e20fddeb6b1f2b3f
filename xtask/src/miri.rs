//! `cargo xtask miri`: the unsafe task and queue code under Miri.
//!
//! Miri needs the nightly toolchain's `miri` component; this job installs it when missing.
//! Crates join the list below once they have unsafe code worth checking; each entry names
//! the test filter that keeps the run within a few minutes.

use crate::step::Result;

/// `(package, test filter)` pairs run under Miri. Empty until a crate has unsafe task or
/// queue code.
const SUITES: &[(&str, &str)] = &[];

pub(crate) fn run() -> Result {
    if SUITES.is_empty() {
        println!("\n==> [miri] no suites registered yet");
        return Ok(());
    }
    ensure_miri()?;
    for (krate, filter) in SUITES {
        crate::step::run(
            &format!("miri {krate}"),
            std::process::Command::new("cargo")
                .current_dir(crate::step::root())
                .args([
                    "+nightly", "miri", "test", "-p", krate, "--lib", "--", filter,
                ]),
        )?;
    }
    Ok(())
}

/// Installs the nightly toolchain's `miri` and `rust-src` components if they are missing.
fn ensure_miri() -> Result {
    let name = "miri: install";
    let have = std::process::Command::new("cargo")
        .args(["+nightly", "miri", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if have {
        return Ok(());
    }
    crate::step::run(
        name,
        std::process::Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
            "--component",
            "miri",
            "--component",
            "rust-src",
        ]),
    )?;
    crate::step::run(
        "miri: setup",
        std::process::Command::new("cargo").args(["+nightly", "miri", "setup"]),
    )
}
