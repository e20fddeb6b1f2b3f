//! Task benchmarks without the facade: spawn+join cost and idle memory per task.
//!
//! `cargo bench -p eddy-executor --bench tasks` prints ns/task for 1M tasks spawned and
//! joined from inside a task (current-thread runtime), and RSS bytes/task for 1M tasks
//! parked on a future that never completes, measured in a fresh child process so other
//! allocations do not pad the figure. Nothing is asserted: timings are for reading.

use std::time::Instant;

use eddy_executor::CurrentThread;
use eddy_executor::current_thread::spawn_local;

const TASKS: usize = 1_000_000;

fn main() {
    if std::env::args().any(|a| a == "--idle-child") {
        idle_child();
        return;
    }
    spawn_join();
    spawn_join_multi();
    yield_many();
    let out =
        std::process::Command::new(std::env::current_exe().expect("the bench knows its own path"))
            .arg("--idle-child")
            .output()
            .expect("the bench can start itself as a child process");
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

fn spawn_join() {
    let rt = CurrentThread::new();
    for round in 0..3 {
        let start = Instant::now();
        rt.block_on(async {
            for _ in 0..TASKS {
                spawn_local(async {}).await.unwrap();
            }
        });
        let one = start.elapsed();
        let start = Instant::now();
        rt.block_on(async {
            let handles: Vec<_> = (0..TASKS).map(|_| spawn_local(async {})).collect();
            for h in handles {
                h.await.unwrap();
            }
        });
        let batch = start.elapsed();
        println!(
            "spawn_local round {round}: spawn+await one at a time {:.1} ns/task, spawn all then join {:.1} ns/task",
            one.as_nanos() as f64 / TASKS as f64,
            batch.as_nanos() as f64 / TASKS as f64
        );
    }
}

fn spawn_join_multi() {
    let rt = eddy_executor::MultiThread::new(2);
    let handle = rt.handle();
    for round in 0..3 {
        let h = handle.clone();
        let start = Instant::now();
        // Spawned from inside a worker task, as the benchmark rules ask.
        rt.block_on(handle.spawn(async move {
            for _ in 0..TASKS {
                h.spawn(async {}).await.unwrap();
            }
        }))
        .unwrap();
        let one = start.elapsed();
        let h = handle.clone();
        let start = Instant::now();
        rt.block_on(handle.spawn(async move {
            let handles: Vec<_> = (0..TASKS).map(|_| h.spawn(async {})).collect();
            for t in handles {
                t.await.unwrap();
            }
        }))
        .unwrap();
        let batch = start.elapsed();
        println!(
            "spawn multi-thread (2 workers) round {round}: one at a time {:.1} ns/task, spawn all then join {:.1} ns/task",
            one.as_nanos() as f64 / TASKS as f64,
            batch.as_nanos() as f64 / TASKS as f64
        );
    }
}

fn yield_many() {
    let rt = CurrentThread::new();
    let start = Instant::now();
    rt.block_on(async {
        let handles: Vec<_> = (0..1000)
            .map(|_| {
                spawn_local(async {
                    for _ in 0..1000 {
                        eddy_executor::yield_now().await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
    });
    println!(
        "yield_many: {:.1} ns/yield",
        start.elapsed().as_nanos() as f64 / 1e6
    );
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn idle_child() {
    let rt = CurrentThread::new();
    // Warm the allocator and the runtime's queues.
    rt.block_on(async {});
    let before = rss_bytes();
    let handles: Vec<_> = (0..TASKS)
        .map(|_| rt.spawn_local(std::future::pending::<()>()))
        .collect();
    // Poll each once so it is idle (waker registered, parked), as in the peers' benchmark:
    // the run queue is FIFO, so awaiting a task spawned last polls every earlier one.
    rt.block_on(rt.spawn_local(async {})).unwrap();
    // One more turn finds the run queue empty, which releases the burst's queue buffer
    // (8 bytes per task) as an idle runtime would: what remains is the tasks themselves.
    rt.block_on(eddy_executor::yield_now());
    let handles_bytes = handles.capacity() * std::mem::size_of_val(&handles[0]);
    let after = rss_bytes();
    assert_eq!(rt.live_tasks(), TASKS);
    let per_task = (after - before - handles_bytes) as f64 / TASKS as f64;
    println!(
        "idle_memory: {per_task:.1} RSS bytes/task for {TASKS} idle tasks (future size 0; JoinHandle vector excluded)"
    );
    drop(handles);
}
