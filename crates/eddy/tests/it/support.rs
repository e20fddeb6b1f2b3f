//! Helpers shared by the test modules.

/// Runs `body` in a child process (this test binary, re-run for `test` only, with `flag`
/// set, plus `env`), checks that it succeeded and returns what it printed (stdout, then
/// stderr). In the child itself, runs `body` and returns an empty string.
///
/// For tests whose effects outlive them (a signal handler) or that check what eddy prints
/// to stderr.
pub(crate) fn in_child_process(test: &str, flag: &str, env: &[(&str, &str)], body: fn()) -> String {
    if std::env::var_os(flag).is_some() {
        body();
        println!("child: ok");
        return String::new();
    }
    let out = rerun(test)
        .env(flag, "1")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.contains("child: ok"),
        "child failed ({:?}):\n{text}",
        out.status
    );
    text
}

/// This test binary, re-run for `test` alone with its output shown. When the suite runs
/// under an emulator (`cargo xtask cross --run` sets `EDDY_TEST_RUNNER`, for example to
/// `qemu-aarch64 -L /usr/aarch64-linux-gnu`), the child goes through the same emulator:
/// the binary is for another architecture.
pub(crate) fn rerun(test: &str) -> std::process::Command {
    let runner = std::env::var("EDDY_TEST_RUNNER").unwrap_or_default();
    let mut words = runner.split_whitespace();
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match words.next() {
        Some(emulator) => {
            let mut cmd = std::process::Command::new(emulator);
            cmd.args(words).arg(exe);
            cmd
        }
        None => std::process::Command::new(exe),
    };
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"]);
    cmd
}

/// [`rerun`] as an `eddy::process::Command`, for tests that drive the child's pipes.
pub(crate) fn rerun_async(test: &str) -> eddy::process::Command {
    rerun(test).into()
}

/// Whether the suite runs under an emulator (see [`rerun`]).
pub(crate) fn emulated() -> bool {
    std::env::var_os("EDDY_TEST_RUNNER").is_some_and(|r| !r.is_empty())
}

/// A current-thread runtime and a two-worker multi-thread one, for tests that hold on
/// both flavours.
pub(crate) fn runtimes() -> [eddy::Runtime; 2] {
    [
        eddy::Runtime::builder().current_thread().build().unwrap(),
        two_workers(),
    ]
}

/// A multi-thread runtime with two workers.
pub(crate) fn two_workers() -> eddy::Runtime {
    eddy::Runtime::builder()
        .multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

/// A current-thread runtime on virtual time (`start_paused`): timers fire exactly at their
/// deadlines, and a test of what happens in which order takes no wall time.
pub(crate) fn paused() -> eddy::Runtime {
    eddy::Runtime::builder()
        .current_thread()
        .start_paused(true)
        .build()
        .unwrap()
}
