//! Running one named step: print it, run it, turn a failure into a [`Failure`] naming it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Why a job stopped: the step that failed and what it said.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) step: String,
    pub(crate) why: String,
}

impl Failure {
    pub(crate) fn new(step: &str, why: impl Into<String>) -> Failure {
        Failure {
            step: step.to_owned(),
            why: why.into(),
        }
    }
}

/// The result of a job or step.
pub(crate) type Result<T = ()> = std::result::Result<T, Failure>;

/// The workspace root, found from this crate's manifest directory so the xtask works from
/// any current directory.
pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("invariant: xtask/ sits directly inside the workspace root")
        .to_path_buf()
}

/// Where cargo puts what it builds: `CARGO_TARGET_DIR`, `build.target-dir` or `target/`
/// under the root, as `cargo metadata` reports it, so the binaries the xtask runs are the
/// ones cargo just built wherever the developer keeps them.
pub(crate) fn target_dir() -> Result<PathBuf> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| Failure::new("cargo metadata", format!("could not start cargo: {e}")))?;
    if !out.status.success() {
        return Err(Failure::new(
            "cargo metadata",
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ));
    }
    let json = String::from_utf8_lossy(&out.stdout);
    json_string_field(&json, "target_directory")
        .map(PathBuf::from)
        .ok_or_else(|| Failure::new("cargo metadata", "no `target_directory` in its output"))
}

/// The value of the first string field `key` in `json`, with JSON's escapes undone; enough
/// for `cargo metadata`'s flat path fields without a JSON dependency.
fn json_string_field(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\":\""))? + key.len() + 4;
    let mut value = String::new();
    let mut chars = json[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(value),
            '\\' => match chars.next()? {
                'n' => value.push('\n'),
                't' => value.push('\t'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    value.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

/// A `cargo` command run from the workspace root with the pinned toolchain.
pub(crate) fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root());
    cmd
}

/// Runs `cmd` as the step called `name`, echoing the command line first and the time it
/// took afterwards.
pub(crate) fn run(name: &str, cmd: &mut Command) -> Result {
    println!("\n==> [{name}] {}", describe(cmd));
    let started = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| Failure::new(name, format!("could not start `{}`: {e}", describe(cmd))))?;
    println!(
        "<== [{name}] {} in {:.1?}",
        if status.success() { "ok" } else { "FAILED" },
        started.elapsed()
    );
    if status.success() {
        Ok(())
    } else {
        Err(Failure::new(
            name,
            format!("`{}` exited with {status}", describe(cmd)),
        ))
    }
}

/// Runs `cmd` quietly and returns its stdout, for probes such as "which targets are installed".
pub(crate) fn output(name: &str, cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .map_err(|e| Failure::new(name, format!("could not start `{}`: {e}", describe(cmd))))?;
    if !out.status.success() {
        return Err(Failure::new(
            name,
            format!(
                "`{}` exited with {}: {}",
                describe(cmd),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The command line as a person would type it, with the environment it sets.
fn describe(cmd: &Command) -> String {
    let mut words: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())))
        .collect();
    words.push(cmd.get_program().to_string_lossy().into_owned());
    words.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    words.join(" ")
}

/// Whether `program` can be started (probed with `probe_arg`), installing Debian's
/// `package` with apt-get (through `sudo -n` when not root) when it is missing. Prints
/// what it does under the step called `name`; never fails the job itself.
pub(crate) fn ensure_package(name: &str, program: &str, probe_arg: &str, package: &str) -> bool {
    // Some tools (wrk) exit non-zero after printing their version: starting is enough.
    let present = || Command::new(program).arg(probe_arg).output().is_ok();
    if present() {
        return true;
    }
    println!("\n==> [{name}] `{program}` not found; installing Debian's `{package}` with apt-get");
    let installed = apt_get(&["install", "-y", package])
        || (apt_get(&["update"]) && apt_get(&["install", "-y", package]));
    if installed && present() {
        println!("<== [{name}] installed `{package}`");
        return true;
    }
    println!("<== [{name}] could not install `{package}`");
    false
}

/// Installs those of Debian's `packages` that `dpkg` does not list as installed, failing
/// the step called `name` when apt-get cannot.
pub(crate) fn apt_install(name: &str, packages: &[&str]) -> Result {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg-query")
                .args(["-W", "-f", "${Status}", p])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!(
        "\n==> [{name}] installing Debian's {} with apt-get",
        missing.join(" ")
    );
    let mut args = vec!["install", "-y", "--no-install-recommends"];
    args.extend(&missing);
    if apt_get(&args) || (apt_get(&["update"]) && apt_get(&args)) {
        println!("<== [{name}] installed {}", missing.join(" "));
        Ok(())
    } else {
        Err(Failure::new(
            name,
            format!("apt-get could not install {}", missing.join(" ")),
        ))
    }
}

/// `apt-get ARGS`, non-interactive, through `sudo -n` when not root; whether it succeeded.
fn apt_get(args: &[&str]) -> bool {
    let mut c = if is_root() {
        Command::new("apt-get")
    } else {
        let mut c = Command::new("sudo");
        c.arg("-n").arg("apt-get");
        c
    };
    c.args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (issue 15, finding 6): the examples step and the stress job ran binaries
    /// from `./target` whatever `CARGO_TARGET_DIR` said. Re-run in a child with the
    /// variable set, `target_dir` must answer it.
    #[test]
    fn target_dir_follows_cargo_target_dir() {
        const CHILD: &str = "EDDY_XTASK_TARGET_DIR_CHILD";
        let wanted = std::env::temp_dir().join("eddy-xtask-target-dir-test");
        if std::env::var_os(CHILD).is_some() {
            assert_eq!(target_dir().unwrap(), wanted);
            return;
        }
        let status = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "step::tests::target_dir_follows_cargo_target_dir",
            ])
            .env(CHILD, "1")
            .env("CARGO_TARGET_DIR", &wanted)
            .status()
            .unwrap();
        assert!(status.success(), "the child saw another target dir");
    }

    #[test]
    fn json_string_field_undoes_escapes() {
        let json = r#"{"a":1,"target_directory":"/x/y \"z\"\\w\u00e9","b":"no"}"#;
        assert_eq!(
            json_string_field(json, "target_directory").as_deref(),
            Some("/x/y \"z\"\\w\u{e9}")
        );
        assert_eq!(json_string_field(json, "missing"), None);
    }
}
