//! asyncio's concepts (the seed notes, chapter 2), one function each. The single-concept
//! examples run one of them; `tour` runs them all in order.

#![allow(dead_code)] // each example uses only some of these

use std::time::{Duration, Instant};

use eddy::task::JoinError;

/// 2.1–2.2: a coroutine is an `async fn`; `await` pauses it until its result is ready.
pub(crate) async fn hello_sleep() -> &'static str {
    async fn delay_hello() -> &'static str {
        eddy::sleep(Duration::from_secs(1)).await; // asyncio.sleep(1)
        "Hello World!"
    }
    let message = delay_hello().await;
    println!("  {message}");
    message
}

/// 2.3: tasks run concurrently. Three one-second sleeps, spawned as tasks, finish together
/// after about one second, not three.
pub(crate) async fn tasks() -> Duration {
    let started = Instant::now();
    let handles: Vec<_> = (1..=3)
        .map(|n| {
            eddy::spawn(async move {
                eddy::sleep(Duration::from_secs(1)).await;
                println!("  task {n} done after {:.2?}", started.elapsed());
                n
            })
        })
        .collect();
    for handle in handles {
        handle
            .await
            .expect("the task was neither cancelled nor panicked");
    }
    let took = started.elapsed();
    println!("  three 1-second tasks took {took:.2?} together");
    took
}

/// 2.4: `task.cancel()` is `abort()`. The awaiter sees `JoinError::Cancelled` where asyncio
/// raises `CancelledError`; inside the task nothing is raised: its future is dropped, so
/// cleanup belongs in `Drop`.
pub(crate) async fn cancel() -> bool {
    struct Cleanup;
    impl Drop for Cleanup {
        fn drop(&mut self) {
            println!("  the long task's cleanup ran (Drop)");
        }
    }
    let long = eddy::spawn(async {
        let _cleanup = Cleanup;
        eddy::sleep(Duration::from_secs(10)).await;
    });
    eddy::sleep(Duration::from_millis(100)).await;
    println!("  cancelling the 10-second task after 100 ms");
    long.abort();
    let cancelled = matches!(long.await, Err(JoinError::Cancelled));
    println!("  awaiting it gives JoinError::Cancelled: {cancelled}");
    cancelled
}

/// 2.4: `asyncio.wait_for(aw, timeout)` is `eddy::timeout(duration, fut)`; on timeout the
/// inner future is dropped and `Err(Elapsed)` comes back.
pub(crate) async fn timeout() -> bool {
    let slow = async {
        eddy::sleep(Duration::from_secs(10)).await;
        "too late"
    };
    let result = eddy::timeout(Duration::from_millis(200), slow).await;
    println!("  a 10-second job under a 200 ms timeout: {result:?}");
    let fast = eddy::timeout(Duration::from_secs(1), async { "in time" }).await;
    println!("  an instant job under a 1-second timeout: {fast:?}");
    result.is_err() && fast.is_ok()
}

/// 2.5: a bare Future: `set_result(42)` on one side, `await` on the other. A oneshot
/// channel is the same thing split in two halves, so the setter can move to another task.
pub(crate) async fn future() -> i32 {
    let (set_result, result) = eddy::sync::oneshot::channel::<i32>();
    let setter = eddy::spawn(async move {
        eddy::sleep(Duration::from_millis(100)).await;
        set_result.send(42).expect("the receiver is still waiting");
    });
    let value = result.await.expect("the sender sent a value");
    setter.await.expect("the setter finished");
    println!("  the future resolved to {value}");
    value
}

/// 2.6: a timing wrapper in place of the `@async_timed` decorator.
pub(crate) async fn timed() -> Duration {
    let (value, took) = eddy::time::timed(async {
        eddy::sleep(Duration::from_millis(300)).await;
        21 * 2
    })
    .await;
    println!("  computed {value} in {took:.2?}");
    took
}

/// 2.7: blocking calls stall the loop; `spawn_blocking` moves them to a thread pool
/// (asyncio's `run_in_executor`), and the loop keeps serving other tasks meanwhile.
pub(crate) async fn pitfalls() -> u32 {
    let ticker = eddy::spawn(async {
        let mut ticks = 0;
        let mut interval = eddy::interval(Duration::from_millis(50));
        for _ in 0..5 {
            interval.tick().await;
            ticks += 1;
        }
        ticks
    });
    let blocking = eddy::spawn_blocking(|| {
        std::thread::sleep(Duration::from_millis(250)); // a blocking call, off the loop
        "blocking work done"
    });
    println!("  {}", blocking.await.expect("the blocking job finished"));
    let ticks = ticker.await.expect("the ticker finished");
    println!("  meanwhile the loop ticked {ticks} times");
    ticks
}

/// Burns CPU on the calling thread for `how_long`: a stand-in for parsing, hashing or
/// compressing a large input.
fn crunch(how_long: Duration) -> u64 {
    let start = Instant::now();
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    while start.elapsed() < how_long {
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
    }
    x
}

/// Runs `job` while a ticker ticks every 20 ms on the same loop; returns the ticks.
async fn ticks_during<T>(job: eddy::task::JoinHandle<T>) -> u32 {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    let ticks = Arc::new(AtomicU32::new(0));
    let counter = ticks.clone();
    let ticker = eddy::spawn(async move {
        let mut interval = eddy::interval(Duration::from_millis(20));
        loop {
            interval.tick().await;
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    job.await.expect("the job finished");
    ticker.abort();
    ticks.load(Ordering::Relaxed)
}

/// 2.7 and 2.9: a CPU-bound loop on the event loop stalls it, and debug mode names the task
/// while it runs; the same work through `spawn_blocking` leaves the loop free and is not
/// flagged. Debug mode is on if `debug` is, or with `EDDY_DEBUG=1`. Returns the ticker's
/// ticks during each version.
pub(crate) fn blocking(debug: bool) -> (u32, u32) {
    let rt = eddy::Runtime::builder()
        .current_thread()
        .debug(debug)
        .build()
        .expect("a runtime");
    if !rt.handle().debug_enabled() {
        println!("  (debug mode is off: run with EDDY_DEBUG=1 to see the watchdog's report)");
    }
    let work = Duration::from_millis(300);
    rt.block_on(async move {
        let handle = eddy::Handle::current();
        println!("  step 1: crunching for {work:?} on the event loop...");
        let on_loop = handle.spawn_named("crunch", async move { crunch(work) });
        let stalled = ticks_during(on_loop).await;
        println!(
            "  step 1 done: a 20 ms ticker ticked {stalled} times meanwhile (the loop was stuck)"
        );
        println!("  step 2: the same work through spawn_blocking...");
        let off_loop = handle.spawn_named("crunch-offloaded", async move {
            eddy::spawn_blocking(move || crunch(work))
                .await
                .expect("the job finished")
        });
        let free = ticks_during(off_loop).await;
        println!(
            "  step 2 done: the ticker ticked {free} times meanwhile, and nothing was flagged"
        );
        (stalled, free)
    })
}

/// A hand-written future with a classic bug: it returns `Pending` without keeping the
/// waker, so nothing can ever wake its task. Debug mode flags it as a lost wake.
struct ForgetsItsWaker;

impl std::future::Future for ForgetsItsWaker {
    type Output = ();
    fn poll(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        std::task::Poll::Pending
    }
}

/// 2.9: `asyncio.run(main(), debug=True)`: a slow poll reported while it runs, a task dump
/// as a tree, the metrics, and at shutdown the pending tasks with a lost wake flagged.
/// Returns how many tasks the dump listed.
pub(crate) fn debug_mode() -> usize {
    let rt = eddy::Runtime::builder()
        .multi_thread()
        .worker_threads(2)
        .debug(true)
        .slow_poll_threshold(Duration::from_millis(100))
        .build()
        .expect("a runtime");
    let listed = rt.block_on(async {
        let handle = eddy::Handle::current();
        let _server = handle.spawn_named("server", async {
            let handle = eddy::Handle::current();
            let _conns: Vec<_> = (0..2)
                .map(|i| {
                    handle.spawn_named(&format!("conn {i}"), eddy::sleep(Duration::from_secs(3600)))
                })
                .collect();
            eddy::sleep(Duration::from_secs(3600)).await; // serving
        });
        handle.spawn_named("forgotten", ForgetsItsWaker);
        println!("  a task calls std::thread::sleep(250 ms): eddy cannot see the call, but");
        println!("  the watchdog reports the slow poll on stderr while it runs");
        let sleepy = handle.spawn_named("sleepy", async {
            std::thread::sleep(Duration::from_millis(250));
        });
        sleepy.await.expect("sleepy finished");
        while handle.tasks().iter().any(|t| t.polls == 0) {
            eddy::sleep(Duration::from_millis(1)).await;
        }
        let dump = handle.dump();
        println!("  the task dump (Handle::dump, or kill -USR1 with EDDY_DUMP_ON_SIGNAL=1):");
        for line in dump.to_string().lines() {
            println!("    {line}");
        }
        let m = handle.metrics();
        println!(
            "  metrics: {} live tasks, {} spawned, {} polls, {} slow poll(s), {} timers live",
            m.scheduler.live_tasks,
            m.scheduler.spawned,
            m.scheduler.polls,
            m.scheduler.slow_polls,
            m.timers.live
        );
        dump.len()
    });
    println!("  dropping the runtime: debug mode lists what is still pending (stderr)");
    drop(rt);
    listed
}

/// 2.9: what every task waits on, and a deadlock found from it: a connection waiting for
/// its client's request, and two tasks each awaiting the other's answer. Returns how many
/// deadlocks the dump found.
pub(crate) fn deadlock() -> usize {
    use eddy::net::{TcpListener, TcpStream};
    use eddy::sync::oneshot;

    let rt = eddy::Runtime::builder()
        .current_thread()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let handle = eddy::Handle::current();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind on loopback");
        let addr = listener.local_addr().expect("a bound address");
        let _client = TcpStream::connect(addr).await.expect("connect");
        let (mut conn, _) = listener.accept().await.expect("accept");
        handle.spawn_named("conn", async move {
            let mut request = [0u8; 512];
            let _ = conn.read(&mut request).await; // the client never writes
        });
        // Each side makes a channel for its answer, gives the other its receiver, and
        // waits for the other's answer before sending its own: neither ever can.
        let (to_pricer, from_auditor) = oneshot::channel::<oneshot::Receiver<u64>>();
        let (to_auditor, from_pricer) = oneshot::channel::<oneshot::Receiver<u64>>();
        handle.spawn_named("pricer", async move {
            let (price, price_rx) = oneshot::channel::<u64>();
            let _ = to_auditor.send(price_rx);
            let audit = from_auditor.await.expect("the auditor's receiver");
            if !price.is_closed() {
                let approved = audit.await.unwrap_or(0);
                let _ = price.send(approved * 2);
            }
        });
        handle.spawn_named("auditor", async move {
            let (audit, audit_rx) = oneshot::channel::<u64>();
            let _ = to_pricer.send(audit_rx);
            let price = from_pricer.await.expect("the pricer's receiver");
            if !audit.is_closed() {
                let quoted = price.await.unwrap_or(0);
                let _ = audit.send(quoted);
            }
        });
        // Let them get there (a few polls each).
        let mut dump = handle.dump();
        for _ in 0..1000 {
            if !dump.deadlocks().is_empty() {
                break;
            }
            eddy::sleep(Duration::from_millis(1)).await;
            dump = handle.dump();
        }
        println!("  the task dump: each waiting task says what it waits on, and where");
        for line in dump.to_string().lines() {
            println!("    {line}");
        }
        dump.deadlocks().len()
    })
}

/// 2.8: the loop by hand: build a runtime, drive it with `block_on`, and reach it from
/// inside through `Handle::current()`.
pub(crate) fn manual_loop() -> u64 {
    let rt = eddy::Runtime::builder()
        .current_thread()
        .build()
        .expect("a runtime");
    let out = rt.block_on(async {
        let handle = eddy::Handle::current();
        let task = handle.spawn(async { 7u64 * 6 });
        task.await.expect("the task finished")
    });
    println!("  run_until_complete gave {out}");
    out
}

/// Chapter 1: one thread, many sockets. An echo server and `clients` concurrent clients on
/// loopback, all on the current thread.
pub(crate) async fn echo_exchange(clients: usize) -> usize {
    use eddy::net::{TcpListener, TcpStream};

    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind on loopback");
    let addr = listener.local_addr().expect("a bound address");
    let server = eddy::spawn(async move {
        for _ in 0..clients {
            let (mut stream, _) = listener.accept().await.expect("accept");
            eddy::spawn(async move {
                let mut buf = [0u8; 1024];
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    let mut set = eddy::task::JoinSet::new();
    for i in 0..clients {
        set.spawn(async move {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            let message = format!("hello from client {i}");
            stream.write_all(message.as_bytes()).await.expect("write");
            let mut back = vec![0u8; message.len()];
            stream.read_exact(&mut back).await.expect("read the echo");
            assert_eq!(back, message.as_bytes());
        });
    }
    let mut done = 0;
    while let Some(result) = set.join_next().await {
        result.expect("a client finished");
        done += 1;
    }
    server.await.expect("the server accepted every client");
    println!("  {done} clients got their echo from one server, all on one thread");
    done
}
