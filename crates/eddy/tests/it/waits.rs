//! Wait records through the facade: what each task waits on in a dump (sockets with their
//! fds and addresses, timers, tasks, channels), the deadlocks they form, dumps taken
//! without pause under 10,000 tasks, and the dump's JSON.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use eddy::debug::{DumpData, TaskState, Wait, WaitOn};
use eddy::net::{TcpListener, TcpStream};
use eddy::sync::{Notify, oneshot};
use eddy::{Handle, Runtime};

use crate::support::{emulated, runtimes, two_workers};

/// Generous bound for "this must happen": a hang fails the test instead of stalling CI.
const PATIENCE: Duration = Duration::from_secs(30);

/// Waits until task `id` is idle with a wait record, and returns it.
fn wait_of(handle: &Handle, id: eddy::debug::TaskId) -> Wait {
    wait_at(handle, id, |_| true)
}

/// Waits until task `id` is idle with a wait record that `wanted` accepts (a task may wait
/// on other things first), and returns it.
fn wait_at(handle: &Handle, id: eddy::debug::TaskId, wanted: impl Fn(&Wait) -> bool) -> Wait {
    let start = std::time::Instant::now();
    loop {
        let dump = handle.dump();
        let idle = dump
            .tasks()
            .iter()
            .any(|t| t.id == id && t.state == TaskState::Idle);
        if idle && let Some(wait) = dump.wait(id).filter(|w| wanted(w)) {
            return wait.clone();
        }
        assert!(
            start.elapsed() < PATIENCE,
            "task {id} never waited:\n{dump}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs `check` on a thread of its own while `rt` runs (a current-thread runtime only runs
/// inside `block_on`), and returns what it returned; its panic fails the test.
fn while_running<R: Send + 'static>(rt: &Runtime, check: impl FnOnce() -> R + Send + 'static) -> R {
    let checker = std::thread::spawn(check);
    rt.block_on(async {
        while !checker.is_finished() {
            eddy::sleep(Duration::from_millis(1)).await;
        }
    });
    match checker.join() {
        Ok(r) => r,
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

#[test]
fn a_socket_read_shows_its_fd_addresses_and_await_site() {
    for rt in runtimes() {
        let handle = rt.handle().clone();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let client = TcpStream::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            let (fd, local, peer) = (
                server.as_raw_fd(),
                server.local_addr().unwrap().to_string(),
                server.peer_addr().unwrap().to_string(),
            );
            let line = line!() + 4;
            let reader = eddy::spawn(async move {
                let mut server = server;
                let mut buf = [0u8; 8];
                server.read(&mut buf).await
            });
            let id = reader.id();
            let wait = std::thread::spawn({
                let handle = handle.clone();
                move || wait_of(&handle, id)
            });
            // Block this runtime thread's main future only through an eddy future, so a
            // current-thread runtime keeps running the reader while the dumping thread looks.
            let wait = loop {
                if wait.is_finished() {
                    break wait.join().unwrap();
                }
                eddy::sleep(Duration::from_millis(1)).await;
            };
            assert_eq!(wait.op, "TcpStream::read");
            assert_eq!(
                wait.on,
                WaitOn::Fd {
                    fd,
                    local: Some(local.clone()),
                    peer: Some(peer.clone()),
                }
            );
            assert_eq!((wait.at.file(), wait.at.line()), (file!(), line));
            let text = handle.dump().to_string();
            assert!(
                text.contains(&format!(
                    "waits on TcpStream::read fd {fd} ({local} → {peer})"
                )),
                "{text}"
            );
            drop(client);
            assert_eq!(reader.await.unwrap().unwrap(), 0, "end of stream");
        });
    }
}

#[test]
fn timers_tasks_and_accepts_show_what_they_wait_on() {
    let rt = two_workers();
    let handle = rt.handle().clone();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let listen_fd = listener.as_raw_fd();
    let listen_addr = listener.local_addr().unwrap().to_string();
    let sleep_line = line!() + 1;
    let sleeper = handle.spawn(async { eddy::sleep(Duration::from_secs(3600)).await });
    let joiner_line = line!() + 2;
    let sleeper_id = sleeper.id();
    let joiner = handle.spawn(async move { sleeper.await.map(drop) });
    let acceptor = handle.spawn(async move { listener.accept().await.map(drop) });
    let notify = Arc::new(Notify::new());
    let waiter = handle.spawn({
        let notify = notify.clone();
        async move { notify.notified().await }
    });

    let wait = wait_of(&handle, sleeper_id);
    assert_eq!(wait.op, "sleep");
    assert_eq!(wait.at.line(), sleep_line);
    let WaitOn::Timer { due_in } = wait.on else {
        panic!("{wait:?}")
    };
    assert!(due_in <= Duration::from_secs(3600) && due_in > Duration::from_secs(3000));

    let wait = wait_of(&handle, joiner.id());
    assert_eq!(
        (wait.op, &wait.on, wait.at.line()),
        ("JoinHandle", &WaitOn::Task(sleeper_id), joiner_line)
    );

    let wait = wait_of(&handle, acceptor.id());
    assert_eq!(wait.op, "TcpListener::accept");
    assert_eq!(
        wait.on,
        WaitOn::Fd {
            fd: listen_fd,
            local: Some(listen_addr),
            peer: None
        }
    );

    let waiter_id = waiter.id();
    let wait = wait_of(&handle, waiter_id);
    assert_eq!((wait.op, &wait.on), ("Notify::notified", &WaitOn::Notify));
    notify.notify_one();
    rt.block_on(waiter).unwrap();
    assert!(
        handle.dump().wait(waiter_id).is_none(),
        "a finished task has no record"
    );
    joiner.abort();
    acceptor.abort();
}

/// A task reading a child's stdout, or writing its full stdin, shows the pipe's fd and the
/// line of the `.await`.
#[test]
fn a_child_processes_pipes_show_their_fd_and_await_site() {
    use std::process::Stdio;
    let rt = two_workers();
    let handle = rt.handle().clone();
    let _enter = handle.enter();
    // `sleep` reads nothing and writes nothing: its stdout stays empty, its stdin fills.
    let mut child = eddy::process::Command::new("sleep")
        .arg("1000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (out_fd, in_fd) = (stdout.as_raw_fd(), stdin.as_raw_fd());
    let read_line = line!() + 1;
    let reader = handle.spawn(async move { stdout.read_to_end(&mut Vec::new()).await.map(drop) });
    let write_line = line!() + 3;
    let writer = handle.spawn(async move {
        let big = vec![7u8; 1 << 20];
        stdin.write_all(&big).await
    });
    for (task, op, fd, line) in [
        (reader.id(), "ChildStdout::read", out_fd, read_line),
        (writer.id(), "ChildStdin::write", in_fd, write_line),
    ] {
        let wait = wait_of(&handle, task);
        let on = WaitOn::Fd {
            fd,
            local: None,
            peer: None,
        };
        assert_eq!((wait.op, &wait.on, wait.at.line()), (op, &on, line));
    }
    reader.abort();
    writer.abort();
    drop(child);
}

/// A wait recorded on a thread's first poll, before its first park (where the schedulers
/// set the records' clock), lasts no longer than its task has lived. It once read the
/// clock's origin (0), and the dump printed "for 37306.4s": the machine's uptime.
#[test]
fn a_wait_from_a_threads_first_poll_is_no_older_than_its_task() {
    // Records are stamped with the clock as the scheduler last set it (a few dozen polls
    // old at most), and ages are read on a clock of a few ms steps: a record may seem a
    // little older than its task. The bug was off by the machine's uptime.
    const SLACK: Duration = Duration::from_secs(5);
    for flavour in 0..2 {
        // A thread of its own, so its clock starts unset whichever test ran here before.
        std::thread::spawn(move || {
            let rt = runtimes().into_iter().nth(flavour).unwrap();
            let handle = rt.handle().clone();
            let checker = std::thread::spawn(move || {
                let main = loop {
                    let dump = handle.dump();
                    if let Some(main) = dump
                        .tasks()
                        .iter()
                        .find(|t| t.name.as_deref() == Some("main"))
                    {
                        break main.id;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                };
                // Main and every task it is waiting on: the worker-side first poll too.
                let wait = wait_of(&handle, main);
                let dump = handle.dump();
                let age = |id| dump.tasks().iter().find(|t| t.id == id).unwrap().age;
                assert!(
                    wait.since <= age(main) + SLACK,
                    "{wait:?} outlives main:\n{dump}"
                );
                let WaitOn::Task(joined) = wait.on else {
                    panic!("{wait:?}")
                };
                let inner = wait_of(&handle, joined);
                let dump = handle.dump();
                let age = |id| dump.tasks().iter().find(|t| t.id == id).unwrap().age;
                assert!(
                    inner.since <= age(joined) + SLACK,
                    "{inner:?} outlives its task:\n{dump}"
                );
            });
            rt.block_on(async move {
                // No sleep before this await: main's first poll records it.
                let task = eddy::spawn(async move {
                    while !checker.is_finished() {
                        eddy::sleep(Duration::from_millis(1)).await;
                    }
                    checker
                });
                let checker = task.await.unwrap();
                if let Err(panic) = checker.join() {
                    std::panic::resume_unwind(panic);
                }
            });
        })
        .join()
        .unwrap();
    }
}

#[test]
fn a_virtual_clocks_timer_is_due_on_that_clock() {
    let rt = crate::support::paused();
    let handle = rt.handle().clone();
    rt.block_on(async move {
        let sleeper = eddy::spawn(eddy::sleep(Duration::from_secs(10)));
        eddy::sleep(Duration::from_secs(4)).await;
        let wait = handle.dump().wait(sleeper.id()).cloned().expect("a record");
        assert_eq!(
            wait.on,
            WaitOn::Timer {
                due_in: Duration::from_secs(6)
            }
        );
        sleeper.await.unwrap();
    });
}

/// Two tasks each awaiting the other's oneshot: each made its own channel, handed the
/// receiver to the other, checked its sender is still wanted, and then waits for the
/// other's value.
#[test]
fn two_tasks_awaiting_each_others_oneshot_are_a_deadlock() {
    for rt in runtimes() {
        let handle = rt.handle().clone();
        let (to_b, from_a) = oneshot::channel::<oneshot::Receiver<u32>>();
        let (to_a, from_b) = oneshot::channel::<oneshot::Receiver<u32>>();
        let line_a = line!() + 8;
        let a = handle.spawn_named("a", async move {
            let (tx, rx) = oneshot::channel::<u32>();
            to_b.send(rx).unwrap();
            let theirs = from_b.await.unwrap();
            if tx.is_closed() {
                return;
            }
            let value = theirs.await.unwrap_or(0);
            let _ = tx.send(value + 1);
        });
        let line_b = line!() + 8;
        let b = handle.spawn_named("b", async move {
            let (tx, rx) = oneshot::channel::<u32>();
            to_a.send(rx).unwrap();
            let theirs = from_a.await.unwrap();
            if tx.is_closed() {
                return;
            }
            let value = theirs.await.unwrap_or(0);
            let _ = tx.send(value + 1);
        });
        let (a_id, b_id) = (a.id(), b.id());
        // Each first waits for the other's receiver, then on the other's value: the
        // second wait is the one asked for (on a slow machine a dump sees the first).
        let waits = while_running(&rt, {
            let handle = handle.clone();
            move || {
                [(a_id, line_a), (b_id, line_b)].map(|(id, line)| {
                    // And once the other has used its sender there, which wakes this
                    // receiver to record it again.
                    wait_at(&handle, id, |w| {
                        w.at.line() == line && matches!(w.on, WaitOn::Sender { used: true, .. })
                    })
                })
            }
        });
        for (wait, line, other) in [(&waits[0], line_a, b_id), (&waits[1], line_b, a_id)] {
            assert_eq!(wait.op, "oneshot::Receiver");
            assert_eq!(
                wait.on,
                WaitOn::Sender {
                    task: Some(other),
                    used: true
                }
            );
            assert_eq!((wait.at.file(), wait.at.line()), (file!(), line));
        }
        let dump = handle.dump();
        let deadlocks = dump.deadlocks();
        assert_eq!(deadlocks.len(), 1, "{dump}");
        assert_eq!(deadlocks[0].tasks, vec![a_id.min(b_id), a_id.max(b_id)]);
        assert!(deadlocks[0].confirmed);
        let text = dump.to_string();
        let report = &text[text.find("DEADLOCK").expect("a deadlock report")..];
        for (id, name, line) in [(a_id, "a", line_a), (b_id, "b", line_b)] {
            assert!(
                report.contains(&format!(
                    "task {id} \"{name}\" waits on oneshot::Receiver (its Sender is in task"
                )),
                "{report}"
            );
            assert!(report.contains(&format!("{}:{line}:", file!())), "{report}");
        }
        a.abort();
        b.abort();
    }
}

/// The pattern that looks like a cycle but is not one: main made the channel and awaits
/// the consumer, but the sender went to a producer, which will send. eddy cannot see the
/// move, so it may only say "possible", never a confirmed deadlock.
#[test]
fn a_sender_moved_before_use_is_never_a_confirmed_deadlock() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let handle = rt.handle().clone();
    rt.block_on(async move {
        let (tx, rx) = oneshot::channel::<u32>();
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let producer = eddy::spawn(async move {
            go_rx.await.unwrap();
            tx.send(7).unwrap();
        });
        let consumer = eddy::spawn(async move { rx.await.unwrap() });
        let consumer_id = consumer.id();
        let (seen_tx, seen_rx) = mpsc::channel();
        let watcher = std::thread::spawn(move || {
            let wait = wait_of(&handle, consumer_id);
            let deadlocks = handle.dump().deadlocks();
            seen_tx.send(()).unwrap();
            (wait, deadlocks)
        });
        let joined = eddy::spawn(async move { consumer.await.unwrap() });
        while seen_rx.try_recv().is_err() {
            eddy::sleep(Duration::from_millis(1)).await;
        }
        go_tx.send(()).unwrap();
        assert_eq!(joined.await.unwrap(), 7);
        producer.await.unwrap();
        let (wait, deadlocks) = watcher.join().unwrap();
        assert!(
            matches!(wait.on, WaitOn::Sender { used: false, .. }),
            "{wait:?}"
        );
        assert!(deadlocks.iter().all(|d| !d.confirmed), "{deadlocks:?}");
    });
}

/// A dump of 10,000 waiting tasks, taken over and over from another thread, never holds
/// the runtime up: between any two dumps the runtime goes on running (here a ping-pong of
/// two tasks), and every dump sees every task's record.
#[test]
fn continuous_dumps_of_ten_thousand_tasks_never_stall_the_runtime() {
    // Under qemu a dump of 10,000 debug-build tasks takes seconds, and the whole test
    // half a minute alone: there it runs a fifth as many, within its patience on a loaded
    // machine. Natively it holds at 10,000.
    let tasks: usize = if emulated() { 2_000 } else { 10_000 };
    const DUMPS: usize = 8;
    for rt in runtimes() {
        let handle = rt.handle().clone();
        let senders: Vec<oneshot::Sender<()>> = (0..tasks)
            .map(|_| {
                let (tx, rx) = oneshot::channel::<()>();
                handle.spawn(async move {
                    let _ = rx.await;
                });
                tx
            })
            .collect();
        let rounds = Arc::new(AtomicU64::new(0));
        let dumper = std::thread::spawn({
            let (handle, rounds) = (handle.clone(), rounds.clone());
            move || {
                let recorded = |dump: &eddy::debug::Dump| {
                    dump.tasks()
                        .iter()
                        .filter(|t| dump.wait(t.id).is_some_and(|w| w.op == "oneshot::Receiver"))
                        .count()
                };
                // First every task has been polled once and is waiting.
                let start = std::time::Instant::now();
                while recorded(&handle.dump()) < tasks {
                    assert!(start.elapsed() < PATIENCE, "the tasks never all waited");
                }
                let mut waiting = tasks;
                for _ in 0..DUMPS {
                    let before = rounds.load(Relaxed);
                    let dump = handle.dump();
                    waiting = waiting.min(recorded(&dump));
                    let _ = dump.to_json();
                    // The runtime must move on before the next dump (it was never stopped).
                    let start = std::time::Instant::now();
                    while rounds.load(Relaxed) == before {
                        assert!(start.elapsed() < PATIENCE, "the runtime stalled");
                        std::thread::yield_now();
                    }
                }
                waiting
            }
        });
        // Until the dumper ends, done or failed: a failed assertion there must end this loop
        // too, or the test hangs instead of failing.
        rt.block_on(async {
            while !dumper.is_finished() {
                let (tx, rx) = oneshot::channel::<u64>();
                let echo = eddy::spawn(async move { rx.await.unwrap() });
                tx.send(rounds.load(Relaxed)).unwrap();
                echo.await.unwrap();
                rounds.fetch_add(1, Relaxed);
            }
        });
        let waiting = dumper.join().unwrap();
        assert_eq!(waiting, tasks, "a dump saw {waiting} of {tasks} records");
        drop(senders);
    }
}

#[test]
fn a_dumps_json_reads_back_as_its_data() {
    let rt = Runtime::builder().current_thread().build().unwrap();
    let handle = rt.handle().clone();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let acceptor = eddy::spawn(async move { listener.accept().await.map(drop) });
        let sleeper = eddy::spawn(eddy::sleep(Duration::from_secs(60)));
        let name = "quote \" backslash \\ newline \n tab \t é 😀".to_owned();
        let named = handle.spawn_named(&name, std::future::pending::<()>());
        eddy::sleep(Duration::from_millis(20)).await;
        let dump = handle.dump();
        let json = dump.to_json();
        let data = DumpData::from_json(&json).unwrap();
        assert_eq!(data, dump.to_data());
        let task = |id: eddy::debug::TaskId| {
            data.tasks
                .iter()
                .find(|t| t.id == id.as_u64())
                .expect("in the data")
        };
        assert_eq!(task(named.id()).name.as_deref(), Some(name.as_str()));
        let accept = task(acceptor.id()).wait.as_ref().expect("a record");
        assert_eq!(
            (accept.op.as_str(), accept.kind.as_str()),
            ("TcpListener::accept", "fd")
        );
        assert!(accept.local.is_some() && accept.peer.is_none());
        let sleep = task(sleeper.id()).wait.as_ref().expect("a record");
        assert_eq!(sleep.kind, "timer");
        assert!(sleep.due_in_ns.is_some());
        acceptor.abort();
        sleeper.abort();
        named.abort();
    });
}
