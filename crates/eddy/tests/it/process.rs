//! `eddy::process` with real child processes: piped I/O checked byte for byte, exit
//! statuses, kill, cancel-safe waits, and the `/proc` table checked for zombies. Tests that
//! count this process's children, or that force the `SIGCHLD` path, run in a child process
//! of their own (the test binary re-run), so other tests' children do not disturb them.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use eddy::process::Command;

use crate::support::{emulated, in_child_process, runtimes};

/// This process's children, as (pid, state letter) from `/proc/*/stat`.
fn children() -> Vec<(u32, char)> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // A process may exit between the listing and the read.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) S ppid ...": the command may hold spaces and parentheses, so the
        // fields are counted from the last ')'.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let mut fields = rest.split(' ');
        let state = fields.next().unwrap().chars().next().unwrap();
        let ppid: u32 = fields.next().unwrap().parse().unwrap();
        if ppid == me {
            found.push((pid, state));
        }
    }
    found
}

/// Waits (up to 20 s) until `done` holds for this process's children; fails with the table.
fn until_children(what: &str, done: impl Fn(&[(u32, char)]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = children();
        if done(&now) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: children still {now:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Aborts the test binary, with a dump of `rt` and this process's children, if it is not
/// dropped within `limit`.
struct HangWatch {
    done: std::sync::mpsc::Sender<()>,
}

impl HangWatch {
    fn start(rt: &eddy::Runtime, what: &'static str, limit: Duration) -> HangWatch {
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let handle = rt.handle().clone();
        std::thread::spawn(move || {
            if finished.recv_timeout(limit) != Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
                return;
            }
            let table: Vec<String> = children()
                .into_iter()
                .map(|(pid, state)| {
                    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
                    format!("  {pid} {state} {cmd}")
                })
                .collect();
            // Straight to the fd: libtest captures `eprintln!` and would lose it in the abort.
            let _ = writeln!(
                std::io::stderr(),
                "{what}: still running after {limit:?}; the runtime:\n{}\nchildren:\n{}",
                handle.dump(),
                table.join("\n")
            );
            std::process::abort();
        });
        HangWatch { done }
    }
}

impl Drop for HangWatch {
    fn drop(&mut self) {
        let _ = self.done.send(());
    }
}

/// `cat` echoes what it is given: the payload for child `i`, distinct for every child.
fn payload(i: usize) -> Vec<u8> {
    (0..(1000 + i * 37)).map(|j| (i * 31 + j) as u8).collect()
}

/// `count` children of `cat` at once, each fed its own payload and read back concurrently
/// with the write (so a payload bigger than a pipe cannot deadlock), every byte checked.
///
/// A run that hangs is not left to CI's own limit: after 120 s a watcher prints what every
/// task waits on and each child's state and command line (`cat`, or still the parent's
/// image, before its exec), then aborts.
fn cat_many(count: usize) {
    for rt in runtimes() {
        let _watch = HangWatch::start(&rt, "cat_many", Duration::from_secs(120));
        rt.block_on(async {
            let tasks: Vec<_> = (0..count)
                .map(|i| {
                    eddy::spawn(async move {
                        let mut child = Command::new("cat")
                            .stdin(Stdio::piped())
                            .stdout(Stdio::piped())
                            .spawn()
                            .unwrap();
                        let mut stdin = child.stdin.take().unwrap();
                        let writer = eddy::spawn(async move {
                            stdin.write_all(&payload(i)).await.unwrap();
                        });
                        let mut echoed = Vec::new();
                        let mut stdout = child.stdout.take().unwrap();
                        stdout.read_to_end(&mut echoed).await.unwrap();
                        writer.await.unwrap();
                        assert!(echoed == payload(i), "child {i}: wrong output");
                        let status = child.wait().await.unwrap();
                        assert!(status.success(), "child {i}: {status}");
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
        });
    }
}

#[test]
fn two_hundred_concurrent_children_with_piped_io() {
    // Under qemu every fork is the emulator's, in a process with threads: 50 there, as the
    // one CI hang of this test was under qemu (docs/testing.md, "Targets"). 200 natively.
    cat_many(if emulated() { 50 } else { 200 });
}

#[test]
fn the_sigchld_path_serves_the_same_workload() {
    let _ = in_child_process(
        "process::the_sigchld_path_serves_the_same_workload",
        "EDDY_TEST_PROCESS_SIGCHLD_CHILD",
        &[("EDDY_PROCESS_WATCH", "sigchld")],
        || {
            cat_many(200);
            exit_statuses();
            until_children("after the SIGCHLD workload", |c| c.is_empty());
        },
    );
}

fn exit_statuses() {
    for rt in runtimes() {
        rt.block_on(async {
            let status = Command::new("sh")
                .args(["-c", "exit 7"])
                .status()
                .await
                .unwrap();
            assert_eq!(status.code(), Some(7));

            let mut sleeper = Command::new("sleep").arg("1000").spawn().unwrap();
            assert_eq!(sleeper.try_wait().unwrap(), None);
            let status = sleeper.kill().await.unwrap();
            assert_eq!(status.signal(), Some(libc::SIGKILL));
            // Collected once, then the same answer every time.
            assert_eq!(sleeper.wait().await.unwrap().signal(), Some(libc::SIGKILL));
            assert_eq!(
                sleeper.try_wait().unwrap().unwrap().signal(),
                Some(libc::SIGKILL)
            );
            // Killing or signalling an exited child does nothing.
            sleeper.start_kill().unwrap();
            sleeper
                .send_signal(eddy::signal::SignalKind::terminate())
                .unwrap();

            let mut polite = Command::new("sleep").arg("1000").spawn().unwrap();
            polite
                .send_signal(eddy::signal::SignalKind::terminate())
                .unwrap();
            assert_eq!(polite.wait().await.unwrap().signal(), Some(libc::SIGTERM));
        });
    }
}

#[test]
fn exit_codes_kills_and_signals_are_reported() {
    exit_statuses();
}

#[test]
fn output_reads_stdout_and_stderr_together_without_deadlock() {
    for rt in runtimes() {
        rt.block_on(async {
            // A megabyte on each stream: far more than a pipe holds, so reading one stream
            // to its end before the other would deadlock with the child.
            let output = Command::new("sh")
                .args([
                    "-c",
                    "head -c 1000000 /dev/zero; head -c 1000001 /dev/zero >&2; exit 3",
                ])
                .output()
                .await
                .unwrap();
            assert_eq!(output.status.code(), Some(3));
            assert_eq!(output.stdout.len(), 1_000_000);
            assert_eq!(output.stderr.len(), 1_000_001);
            assert!(output.stdout.iter().chain(&output.stderr).all(|&b| b == 0));

            // output()'s stdin is empty: `cat` ends at once instead of reading the test's.
            let output = Command::new("cat").output().await.unwrap();
            assert!(output.status.success() && output.stdout.is_empty());
        });
    }
}

#[test]
fn a_pipe_feeds_the_next_command() {
    for rt in runtimes() {
        rt.block_on(async {
            let mut first = Command::new("echo")
                .arg("hello pipeline")
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let pipe = first.stdout.take().unwrap().into_stdio().unwrap();
            let output = Command::new("tr")
                .args(["a-z", "A-Z"])
                .stdin(pipe)
                .output()
                .await
                .unwrap();
            assert_eq!(output.stdout, b"HELLO PIPELINE\n");
            assert!(first.wait().await.unwrap().success());
        });
    }
}

#[test]
fn a_cancelled_wait_loses_nothing() {
    for rt in runtimes() {
        rt.block_on(async {
            let mut child = Command::new("sh")
                .args(["-c", "sleep 0.2; exit 5"])
                .spawn()
                .unwrap();
            // The first waits are cut short by a timeout and dropped; the last one gets
            // the status.
            let mut timeouts = 0;
            let status = loop {
                match eddy::timeout(Duration::from_millis(20), child.wait()).await {
                    Ok(status) => break status.unwrap(),
                    Err(_) => timeouts += 1,
                }
            };
            assert!(
                timeouts > 0,
                "the child exited before the first wait timed out"
            );
            assert_eq!(status.code(), Some(5));
        });
    }
}

#[test]
fn bad_programs_are_clear_errors() {
    eddy::run(async {
        if crate::support::emulated() {
            // qemu-user runs `execve` in the forked child and reports its failure as an
            // exit status of 127, so std sees a spawned child, not the error (listed in
            // docs/testing.md, "Targets").
            for program in ["/no/such/program", "/"] {
                let status = Command::new(program).status().await.unwrap();
                assert_eq!(status.code(), Some(127), "{program}");
            }
            return;
        }
        let err = Command::new("/no/such/program").spawn().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
        let err = Command::new("/").spawn().unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    });
}

#[test]
fn spawn_outside_a_runtime_says_where_to_spawn() {
    let panic = std::panic::catch_unwind(|| Command::new("true").spawn()).unwrap_err();
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap();
    assert!(
        message.contains("outside an eddy runtime") && message.contains("eddy::run"),
        "{message}"
    );
}

#[test]
fn no_zombie_is_left_by_dropped_children_or_a_dropped_runtime() {
    let _ = in_child_process(
        "process::no_zombie_is_left_by_dropped_children_or_a_dropped_runtime",
        "EDDY_TEST_PROCESS_ZOMBIE_CHILD",
        &[],
        || {
            for rt in runtimes() {
                // Dropped while running, with and without kill_on_drop: the killed ones go
                // at once; the others exit on their own a little later.
                let killed: Vec<u32> = rt.block_on(async {
                    let mut ids = Vec::new();
                    for _ in 0..20 {
                        let child = Command::new("sleep").arg("1000").kill_on_drop(true).spawn();
                        ids.push(child.unwrap().id());
                        drop(Command::new("sleep").arg("0.05").spawn().unwrap());
                    }
                    ids
                });
                // Tasks holding children, cancelled when the runtime drops.
                rt.block_on(async {
                    for _ in 0..20 {
                        let mut child = Command::new("sleep")
                            .arg("1000")
                            .kill_on_drop(true)
                            .stdout(Stdio::piped())
                            .spawn()
                            .unwrap();
                        eddy::spawn(async move { child.wait().await });
                        let child = Command::new("sleep").arg("0.05").spawn().unwrap();
                        eddy::spawn(async move {
                            let _child = child;
                            std::future::pending::<()>().await
                        });
                    }
                    eddy::sleep(Duration::from_millis(10)).await;
                });
                drop(rt);
                until_children("after dropping children and the runtime", |c| c.is_empty());
                assert!(
                    killed
                        .iter()
                        .all(|pid| !children().iter().any(|c| c.0 == *pid))
                );
            }

            // Without kill_on_drop a dropped child keeps running, and is reaped when it
            // is killed later by someone else.
            let pid = eddy::run(async { Command::new("sleep").arg("1000").spawn().unwrap().id() });
            std::thread::sleep(Duration::from_millis(50));
            assert!(
                children()
                    .iter()
                    .any(|&(p, state)| p == pid && state != 'Z'),
                "a dropped child without kill_on_drop must keep running"
            );
            // SAFETY: kill has no memory effects; pid is our own unreaped child.
            assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
            until_children("after killing the dropped child", |c| c.is_empty());
        },
    );
}

#[test]
fn another_librarys_own_child_keeps_its_status() {
    let _ = in_child_process(
        "process::another_librarys_own_child_keeps_its_status",
        "EDDY_TEST_PROCESS_OTHER_WAITPID_CHILD",
        &[],
        || {
            // A child started with std (another library's), waited for with std's
            // blocking `wait`, while eddy children come and go and eddy's reaper runs on
            // every SIGCHLD: eddy must never take its status.
            for round in 0..20 {
                let mut theirs = std::process::Command::new("sh")
                    .args(["-c", &format!("sleep 0.0{}; exit 9", round % 5)])
                    .spawn()
                    .unwrap();
                eddy::run(async {
                    for _ in 0..5 {
                        drop(Command::new("true").spawn().unwrap());
                        Command::new("true").status().await.unwrap();
                    }
                });
                assert_eq!(theirs.wait().unwrap().code(), Some(9), "round {round}");
            }
            until_children("after the rounds", |c| c.is_empty());
        },
    );
}
