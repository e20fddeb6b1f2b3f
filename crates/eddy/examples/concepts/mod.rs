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
