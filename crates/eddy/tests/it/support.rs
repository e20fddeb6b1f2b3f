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
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
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

/// A current-thread runtime and a two-worker multi-thread one, for tests that hold on
/// both flavours.
pub(crate) fn runtimes() -> [eddy::Runtime; 2] {
    [
        eddy::Runtime::builder().current_thread().build().unwrap(),
        eddy::Runtime::builder()
            .multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    ]
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
