//! Load scenarios: many connections, timers, aborts, wakes, spawns and blocking jobs at once,
//! each one counted in and counted out.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use eddy::net::{TcpListener, TcpStream};
use eddy::task::JoinHandle;
use eddy::timer::AtomicWaker;

use crate::harness::{
    BlockingJob, Ctx, Flavor, Rng, Tracked, join_error, open_fds, raise_nofile, round_trip,
    serve_echo, unexpected,
};
use crate::thousands;

/// How long any one scenario phase may take before it counts as a hang.
const PATIENCE: Duration = Duration::from_secs(60);

/// Connects `n` streams to `addr`, at most 256 connects in flight (the listener's backlog is
/// 1,024; more in flight only makes SYNs wait for retransmission).
async fn connect_all(ctx: &Ctx, addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(n);
    while streams.len() < n {
        let batch = (n - streams.len()).min(256);
        let connects: Vec<_> = (0..batch)
            .map(|_| eddy::spawn(TcpStream::connect(addr)))
            .collect();
        for c in connects {
            match c.await {
                Ok(Ok(s)) => streams.push(s),
                Ok(Err(e)) => {
                    ctx.error(format!("connect: {e}"));
                    return streams;
                }
                Err(e) => {
                    ctx.error(format!("connect task: {e}"));
                    return streams;
                }
            }
        }
    }
    streams
}

/// tcp_echo: thousands of connections open at once, each doing checksummed round trips of
/// random sizes; every byte sent must come back, unchanged.
pub(crate) fn tcp_echo(ctx: &Ctx) {
    let hard = raise_nofile().unwrap_or(1024);
    let want = ctx.pick(10_000, 2_000);
    // Client and server ends live in this process: two fds per connection.
    let fit = (hard as usize).saturating_sub(open_fds() + 200) / 2;
    let n = want.min(fit);
    if n < want {
        eprintln!(
            "  [tcp_echo] RLIMIT_NOFILE hard limit {hard} fits {n} connections (2 fds each), \
             not {want}"
        );
        ctx.note(format!(
            "{} of {} connections: RLIMIT_NOFILE hard limit {hard}, 2 fds each",
            thousands(n as u64),
            thousands(want as u64)
        ));
    }
    let rounds = ctx.pick(16, 2);
    for flavor in Flavor::BOTH {
        // The current-thread runtime gets a quarter: it proves the same on one thread.
        let n = if flavor == Flavor::Multi { n } else { n / 4 };
        let sent = Arc::new(AtomicU64::new(0));
        let echoed = Arc::new(AtomicU64::new(0));
        let rt = flavor.runtime();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("local_addr");
            let server = eddy::spawn(serve_echo(listener, unexpected));
            let streams = connect_all(ctx, addr, n).await;
            let clients: Vec<_> = streams
                .into_iter()
                .enumerate()
                .map(|(i, mut stream)| {
                    let (sent, echoed) = (sent.clone(), echoed.clone());
                    eddy::spawn(async move {
                        let _t = Tracked::new();
                        let mut rng = Rng::new(i as u64);
                        for _ in 0..rounds {
                            // Sizes spread over 1 B .. 16 KiB, small ones as likely as big.
                            let bits = 1 + rng.below(14);
                            let len = 1 + rng.below(1 << bits) as usize;
                            sent.fetch_add(len as u64, Ordering::Relaxed);
                            if !round_trip(&mut stream, &mut rng, len).await? {
                                return Err(io::Error::other("echo came back corrupted"));
                            }
                            echoed.fetch_add(len as u64, Ordering::Relaxed);
                        }
                        Ok::<_, io::Error>(())
                    })
                })
                .collect();
            let all = async {
                for c in clients {
                    match c.await {
                        Ok(Ok(())) => ctx.ops(rounds as u64),
                        Ok(Err(e)) => ctx.error(format!("client: {e}")),
                        Err(e) => ctx.error(format!("client task: {e}")),
                    }
                }
            };
            if eddy::timeout(PATIENCE, all).await.is_err() {
                ctx.error(format!(
                    "{} clients still running after {PATIENCE:?}",
                    flavor.label()
                ));
            }
            server.abort();
            let _ = server.await;
        });
        drop(rt);
        let (sent, echoed) = (sent.load(Ordering::Relaxed), echoed.load(Ordering::Relaxed));
        ctx.lose(
            sent - echoed,
            format!("bytes sent but never echoed ({})", flavor.label()),
        );
        ctx.note(format!(
            "{}: {} conns x {rounds} round trips, {:.1} MiB",
            flavor.label(),
            thousands(n as u64),
            sent as f64 / (1 << 20) as f64
        ));
    }
}

/// timers: a million sleeps with random deadlines, a random half cancelled (aborted) early.
/// Every survivor fires once and never before its deadline on the runtime's own clock; no
/// timer cancelled before its deadline fires.
pub(crate) fn timers(ctx: &Ctx) {
    let n = ctx.pick(1_000_000, 100_000);
    for flavor in Flavor::BOTH {
        let n = if flavor == Flavor::Multi { n } else { n / 4 };
        let rt = flavor.runtime();
        rt.block_on(timers_on(ctx, n, flavor));
    }
}

async fn timers_on(ctx: &Ctx, n: usize, flavor: Flavor) {
    let clock = eddy::timer::Handle::current();
    let mut rng = Rng::new(n as u64);
    // Deadlines start after spawning is likely done, so most cancels land before them;
    // the few that do not are counted apart (either outcome is right for them).
    let start = clock.now() + Duration::from_millis(ctx.pick(2_000, 500) as u64);
    let span = ctx.pick(3_000, 1_000) as u64;
    let fired: Arc<Vec<AtomicU8>> = Arc::new((0..n).map(|_| AtomicU8::new(0)).collect());
    let early = Arc::new(AtomicU64::new(0));
    let mut deadlines = Vec::with_capacity(n);
    let mut cancel = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    for i in 0..n {
        let deadline = start + Duration::from_micros(rng.below(span * 1_000));
        deadlines.push(deadline);
        cancel.push(rng.coin());
        let (fired, early, clock) = (fired.clone(), early.clone(), clock.clone());
        handles.push(eddy::spawn(async move {
            let _t = Tracked::new();
            eddy::sleep_until(deadline).await;
            if clock.now() < deadline {
                early.fetch_add(1, Ordering::Relaxed);
            }
            fired[i].fetch_add(1, Ordering::Relaxed);
        }));
    }
    // When each abort was issued: a timer cancelled well before its deadline never fires.
    let cancelled_at: Vec<Option<Instant>> = handles
        .iter()
        .zip(&cancel)
        .map(|(h, &c)| {
            c.then(|| {
                let now = clock.now();
                h.abort();
                now
            })
        })
        .collect();
    // A cancel that reached its timer less than this before the deadline may race the fire.
    let margin = Duration::from_millis(20);
    let mut racy = 0u64;
    let wait = async {
        for (i, h) in handles.into_iter().enumerate() {
            let clear_cancel = cancelled_at[i].is_some_and(|at| deadlines[i] > at + margin);
            racy += u64::from(cancel[i] && !clear_cancel);
            match (h.await, fired[i].load(Ordering::Relaxed)) {
                (Ok(()), 1) if !clear_cancel => ctx.ops(1),
                (Err(e), 0) if cancel[i] && e.is_cancelled() => ctx.ops(1),
                (result, times) => ctx.error(format!(
                    "timer {i} (cancelled: {}) resolved {:?} after firing {times} times",
                    cancel[i],
                    result.map_err(|e| e.to_string())
                )),
            }
        }
    };
    if eddy::timeout(PATIENCE + Duration::from_millis(span), wait)
        .await
        .is_err()
    {
        ctx.lose(
            n as u64,
            format!(
                "{}: timers still pending long after their deadlines",
                flavor.label()
            ),
        );
    }
    let early = early.load(Ordering::Relaxed);
    if early > 0 {
        ctx.error(format!("{early} timers fired before their deadline"));
    }
    ctx.note(format!(
        "{}: {} timers, {} cancelled within {margin:?} of their deadline",
        flavor.label(),
        thousands(n as u64),
        racy
    ));
}

/// The points of a task's life where `abort` lands.
#[derive(Copy, Clone, Debug)]
enum Stage {
    /// Spawned, never polled yet.
    Pending,
    /// Always runnable: it yields for ever.
    Scheduled,
    /// Busy inside its poll while another thread aborts it.
    Running,
    /// Aborts itself from inside its own poll.
    SelfAborted,
    /// Already returned its output.
    Finished,
    /// Asleep on a timer that may or may not have fired.
    Sleeping,
}

/// abort: 100,000 tasks aborted at every point of their life; every JoinHandle resolves with
/// what that point allows, and every future is dropped.
pub(crate) fn abort(ctx: &Ctx) {
    let n = ctx.pick(100_000, 20_000);
    for flavor in Flavor::BOTH {
        let rt = flavor.runtime();
        rt.block_on(abort_on(ctx, n, flavor));
    }
    ctx.note(format!(
        "{} tasks on each of mt and ct",
        thousands(n as u64)
    ));
}

async fn abort_on(ctx: &Ctx, n: usize, flavor: Flavor) {
    const STAGES: [Stage; 6] = [
        Stage::Pending,
        Stage::Scheduled,
        Stage::Running,
        Stage::SelfAborted,
        Stage::Finished,
        Stage::Sleeping,
    ];
    let mut rng = Rng::new(42);
    // Running tasks are aborted from a plain thread while a worker polls them.
    let (to_aborter, aborts) = mpsc::channel::<eddy::task::AbortHandle>();
    let aborter = std::thread::spawn(move || {
        for h in aborts {
            std::thread::sleep(Duration::from_micros(20));
            h.abort();
        }
    });
    let after_abort = Arc::new(AtomicU64::new(0));
    let mut tasks: Vec<(Stage, JoinHandle<u32>)> = Vec::with_capacity(n);
    for i in 0..n {
        let stage = STAGES[rng.below(STAGES.len() as u64) as usize];
        let handle = match stage {
            Stage::Pending => eddy::spawn(async {
                let _t = Tracked::new();
                std::future::pending::<u32>().await
            }),
            Stage::Scheduled | Stage::Running => {
                let spin = matches!(stage, Stage::Running);
                eddy::spawn(async move {
                    let _t = Tracked::new();
                    loop {
                        if spin {
                            let until = Instant::now() + Duration::from_micros(5);
                            while Instant::now() < until {
                                std::hint::spin_loop();
                            }
                        }
                        eddy::yield_now().await;
                    }
                })
            }
            Stage::SelfAborted => {
                let (tx, rx) = eddy::sync::oneshot::channel();
                let after_abort = after_abort.clone();
                let h = eddy::spawn(async move {
                    let _t = Tracked::new();
                    let me: eddy::task::AbortHandle = rx.await.expect("the handle is sent");
                    me.abort();
                    eddy::yield_now().await;
                    // Never reached: the task was cancelled at the yield above.
                    after_abort.fetch_add(1, Ordering::Relaxed);
                    0
                });
                let _ = tx.send(h.abort_handle());
                h
            }
            Stage::Finished => eddy::spawn(async move {
                let _t = Tracked::new();
                i as u32
            }),
            Stage::Sleeping => {
                let d = Duration::from_micros(rng.below(2_000));
                eddy::spawn(async move {
                    let _t = Tracked::new();
                    eddy::sleep(d).await;
                    i as u32
                })
            }
        };
        match stage {
            Stage::Pending => handle.abort(),
            Stage::Running => {
                let _ = to_aborter.send(handle.abort_handle());
            }
            _ => {}
        }
        tasks.push((stage, handle));
        // Let some run before their aborts land, at random.
        if rng.below(64) == 0 {
            eddy::yield_now().await;
        }
    }
    drop(to_aborter);
    // Abort the runnable and sleeping ones in random order, letting the runtime run in
    // between. All at once: waiting for each in turn would take a trip through a run
    // queue full of the others.
    let mut order: Vec<usize> = (0..tasks.len()).collect();
    rng.shuffle(&mut order);
    for i in order {
        if let (Stage::Scheduled | Stage::Sleeping, handle) = &tasks[i] {
            handle.abort();
            if rng.below(64) == 0 {
                eddy::yield_now().await;
            }
        }
    }
    let mut by_stage = [0u64; 6];
    let wait = async {
        for (i, (stage, handle)) in tasks.into_iter().enumerate() {
            if let Stage::Finished = stage {
                while !handle.is_finished() {
                    eddy::yield_now().await;
                }
                handle.abort();
            }
            let result = handle.await;
            let ok = match (stage, &result) {
                (Stage::Finished, Ok(v)) => *v == i as u32,
                (Stage::Sleeping, Ok(v)) => *v == i as u32,
                (Stage::Finished, Err(_)) => false,
                (_, Err(e)) => e.is_cancelled(),
                (_, Ok(_)) => false,
            };
            if ok {
                by_stage[stage as usize] += 1;
                ctx.ops(1);
            } else {
                ctx.error(format!(
                    "task {i} aborted while {stage:?} resolved {:?}",
                    result.map_err(|e| e.to_string())
                ));
            }
        }
    };
    if eddy::timeout(PATIENCE, wait).await.is_err() {
        ctx.lose(
            1,
            format!(
                "{}: a JoinHandle never resolved after abort",
                flavor.label()
            ),
        );
    }
    aborter.join().expect("the aborter thread does not panic");
    let after = after_abort.load(Ordering::Relaxed);
    if after > 0 {
        ctx.error(format!("{after} tasks ran on after aborting themselves"));
    }
    eprintln!(
        "  [abort] {} by stage {STAGES:?}: {by_stage:?}",
        flavor.label()
    );
}

/// One wake-storm task's shared state.
struct Slot {
    tokens: AtomicU32,
    waker: AtomicWaker,
    /// Set for the length of a poll: seeing it already set means two polls at once.
    polling: AtomicBool,
}

/// Completes once its slot holds `need` tokens; flags concurrent polls.
struct WaitTokens {
    slot: Arc<Slot>,
    need: u32,
    double_polls: Arc<AtomicU64>,
}

impl Future for WaitTokens {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let slot = &self.slot;
        if slot.polling.swap(true, Ordering::Acquire) {
            self.double_polls.fetch_add(1, Ordering::Relaxed);
        }
        // Register first, then check: a token added after the check wakes this waker.
        slot.waker.register(cx.waker());
        let ready = slot.tokens.load(Ordering::Acquire) >= self.need;
        slot.polling.store(false, Ordering::Release);
        if ready {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// wake_storm: plain threads wake thousands of tasks at random, each task finishing after
/// its Nth wake, while others already finished are woken too. A lost wake leaves a task
/// pending for ever; two polls at once are caught by a flag.
pub(crate) fn wake_storm(ctx: &Ctx) {
    let tasks = ctx.pick(100_000, 5_000);
    let need = 8u32;
    let threads = 4;
    for flavor in Flavor::BOTH {
        let rt = flavor.runtime();
        let slots: Vec<Arc<Slot>> = (0..tasks)
            .map(|_| {
                Arc::new(Slot {
                    tokens: AtomicU32::new(0),
                    waker: AtomicWaker::new(),
                    polling: AtomicBool::new(false),
                })
            })
            .collect();
        let double_polls = Arc::new(AtomicU64::new(0));
        let handles: Vec<_> = slots
            .iter()
            .map(|slot| {
                let fut = WaitTokens {
                    slot: slot.clone(),
                    need,
                    double_polls: double_polls.clone(),
                };
                rt.spawn(async move {
                    let _t = Tracked::new();
                    fut.await;
                })
            })
            .collect();
        let slots = Arc::new(slots);
        let wakers: Vec<_> = (0..threads)
            .map(|t| {
                let slots = slots.clone();
                std::thread::spawn(move || {
                    let mut rng = Rng::new(t as u64 + 100);
                    // Each thread owns a share of the tokens and hands them out in random
                    // order, with a spurious wake of a random task after each.
                    let mut mine: Vec<usize> = (0..slots.len())
                        .flat_map(|i| std::iter::repeat_n(i, need as usize / threads))
                        .collect();
                    rng.shuffle(&mut mine);
                    for i in mine {
                        slots[i].tokens.fetch_add(1, Ordering::Release);
                        slots[i].waker.wake();
                        slots[rng.below(slots.len() as u64) as usize].waker.wake();
                    }
                })
            })
            .collect();
        let finished = rt.block_on(async {
            let all = async {
                for h in handles {
                    match h.await {
                        Ok(()) => ctx.ops(u64::from(need)),
                        Err(e) => ctx.error(format!("storm task: {e}")),
                    }
                }
            };
            eddy::timeout(PATIENCE, all).await.is_ok()
        });
        for w in wakers {
            w.join().expect("waker threads do not panic");
        }
        if !finished {
            let stuck = slots
                .iter()
                .filter(|s| s.tokens.load(Ordering::Acquire) >= need)
                .count();
            ctx.lose(
                stuck as u64,
                format!(
                    "{}: tasks with all their wakes never completed",
                    flavor.label()
                ),
            );
        }
        let doubles = double_polls.load(Ordering::Relaxed);
        if doubles > 0 {
            ctx.error(format!(
                "{}: {doubles} concurrent polls of one task",
                flavor.label()
            ));
        }
    }
    ctx.note(format!(
        "{} tasks x {need} wakes from {threads} threads, on mt and ct",
        thousands(tasks as u64)
    ));
}

/// spawn_storm: plain threads spawn into a runtime kept busy by tasks that spin and yield
/// for a few seconds; every task spawned (and every task those spawn) runs once and returns
/// its value. How many ran while the runtime was busy goes in the notes.
pub(crate) fn spawn_storm(ctx: &'static Ctx) {
    let per_thread = ctx.pick(50_000, 10_000) as u64;
    let threads: u64 = 4;
    let busy_for = Duration::from_secs(ctx.pick(10, 3) as u64);
    for flavor in Flavor::BOTH {
        let rt = flavor.runtime();
        let stop = Arc::new(AtomicBool::new(false));
        let ran = Arc::new(AtomicU64::new(0));
        let busy: Vec<_> = (0..4)
            .map(|_| {
                let stop = stop.clone();
                rt.spawn(async move {
                    let _t = Tracked::new();
                    while !stop.load(Ordering::Relaxed) {
                        let until = Instant::now() + Duration::from_micros(50);
                        while Instant::now() < until {
                            std::hint::spin_loop();
                        }
                        eddy::yield_now().await;
                    }
                })
            })
            .collect();
        let spawners: Vec<_> = (0..threads)
            .map(|t| {
                let (handle, ran) = (rt.handle().clone(), ran.clone());
                std::thread::spawn(move || {
                    let mut rng = Rng::new(t);
                    (0..per_thread)
                        .map(|i| {
                            let yields = rng.below(3);
                            let nested = rng.below(8) == 0;
                            let ran = ran.clone();
                            handle.spawn(async move {
                                let _t = Tracked::new();
                                for _ in 0..yields {
                                    eddy::yield_now().await;
                                }
                                let v = if nested {
                                    let inner = eddy::spawn(async move {
                                        let _t = Tracked::new();
                                        i
                                    });
                                    inner.await.unwrap_or(u64::MAX)
                                } else {
                                    i
                                };
                                ran.fetch_add(1, Ordering::Relaxed);
                                ctx.ops(1);
                                v
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let handles: Vec<_> = spawners
            .into_iter()
            .map(|s| s.join().expect("spawner threads do not panic"))
            .collect();
        let while_busy = rt.block_on(async {
            eddy::sleep(busy_for).await;
            let while_busy = ran.load(Ordering::Relaxed);
            stop.store(true, Ordering::Relaxed);
            let all = async {
                for list in handles {
                    for (i, h) in list.into_iter().enumerate() {
                        match h.await {
                            Ok(v) if v == i as u64 => {}
                            other => ctx.error(format!(
                                "spawned task {i} resolved {:?}",
                                other.map_err(|e| e.to_string())
                            )),
                        }
                    }
                }
            };
            if eddy::timeout(PATIENCE, all).await.is_err() {
                let total = per_thread * threads;
                ctx.lose(
                    total - ran.load(Ordering::Relaxed),
                    format!("{}: spawned tasks never ran", flavor.label()),
                );
            }
            for b in busy {
                let _ = b.await;
            }
            while_busy
        });
        ctx.note(format!(
            "{}: {} of {} ran in the {busy_for:?} busy window",
            flavor.label(),
            thousands(while_busy),
            thousands(per_thread * threads)
        ));
    }
}

/// blocking_pool: many more blocking jobs than the pool's threads, from tasks and from plain
/// threads; all complete, and never more run at once than the cap.
pub(crate) fn blocking_pool(ctx: &Ctx) {
    let jobs = ctx.pick(20_000, 1_000);
    let cap = 8;
    let rt = Flavor::Multi
        .builder()
        .max_blocking_threads(cap)
        .build()
        .expect("runtime");
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let job = {
        let (running, most) = (running.clone(), most.clone());
        move |i: usize| {
            let (running, most) = (running.clone(), most.clone());
            let open = BlockingJob::submit();
            move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(Duration::from_micros(200 + (i as u64 % 7) * 100));
                running.fetch_sub(1, Ordering::SeqCst);
                open.finish();
                i
            }
        }
    };
    // Half from plain threads, half from tasks.
    let outside: Vec<JoinHandle<usize>> = {
        let handle = rt.handle().clone();
        let job = job.clone();
        std::thread::spawn(move || {
            (0..jobs / 2)
                .map(|i| handle.spawn_blocking(job(i)))
                .collect()
        })
        .join()
        .expect("the submitting thread does not panic")
    };
    rt.block_on(async {
        let inside: Vec<_> = (jobs / 2..jobs)
            .map(|i| eddy::spawn_blocking(job(i)))
            .collect();
        let all = async {
            for (i, h) in outside.into_iter().chain(inside).enumerate() {
                match h.await {
                    Ok(v) if v == i => ctx.ops(1),
                    other => ctx.error(format!(
                        "blocking job {i} resolved {:?}",
                        other.map_err(|e| e.to_string())
                    )),
                }
            }
        };
        if eddy::timeout(PATIENCE, all).await.is_err() {
            ctx.lose(1, "blocking jobs never completed");
        }
    });
    drop(rt);
    let most = most.load(Ordering::SeqCst);
    if most > cap {
        ctx.error(format!(
            "{most} blocking jobs ran at once with a cap of {cap}"
        ));
    }
    ctx.note(format!(
        "{} jobs, cap {cap}, at most {most} at once",
        thousands(jobs as u64)
    ));
}

/// mixed_server: for the whole duration, an echo server whose clients sleep on timers
/// between round trips, check each echo on the blocking pool, run under timeouts, and are
/// aborted at random and replaced.
pub(crate) fn mixed_server(ctx: &Ctx) {
    let run_for = ctx.duration(90, 8);
    let clients = ctx.pick(200, 100);
    let rt = Flavor::Multi.runtime();
    let cancelled = Arc::new(AtomicU64::new(0));
    let echoed = Arc::new(AtomicU64::new(0));
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        // Aborted clients reset or close mid-exchange: the server's side of that is normal.
        let server = eddy::spawn(serve_echo(listener, |_| true));
        let deadline = Instant::now() + run_for;
        let client = |seed: u64| eddy::spawn(mixed_client(addr, seed, deadline, echoed.clone()));
        let mut live: Vec<JoinHandle<io::Result<u64>>> = (0..clients as u64).map(client).collect();
        let mut rng = Rng::new(3);
        let mut seed = clients as u64;
        while Instant::now() < deadline {
            eddy::sleep(Duration::from_millis(rng.below(20))).await;
            let victim = rng.below(live.len() as u64) as usize;
            live[victim].abort();
            seed += 1;
            let old = std::mem::replace(&mut live[victim], client(seed));
            match old.await {
                Err(e) if e.is_cancelled() => {
                    cancelled.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Ok(n)) => ctx.ops(n),
                Ok(Err(e)) => ctx.error(format!("client: {e}")),
                Err(e) => ctx.error(format!("client task: {e}")),
            }
        }
        let rest = async {
            for h in live {
                match h.await {
                    Ok(Ok(n)) => ctx.ops(n),
                    Ok(Err(e)) => ctx.error(format!("client: {e}")),
                    Err(e) => ctx.error(format!("client task: {e}")),
                }
            }
        };
        if eddy::timeout(PATIENCE, rest).await.is_err() {
            ctx.lose(1, "clients still running after the end");
        }
        server.abort();
        let _ = server.await;
    });
    drop(rt);
    let cancelled = cancelled.load(Ordering::Relaxed);
    ctx.note(format!(
        "{run_for:?}, {clients} clients, {} aborted and replaced, {:.1} MiB echoed",
        thousands(cancelled),
        echoed.load(Ordering::Relaxed) as f64 / (1 << 20) as f64
    ));
}

/// One mixed-server client: round trips until `deadline`, each after a random sleep, under
/// a timeout, its checksum computed on the blocking pool. Returns the round trips done.
async fn mixed_client(
    addr: SocketAddr,
    seed: u64,
    deadline: Instant,
    echoed: Arc<AtomicU64>,
) -> io::Result<u64> {
    let _t = Tracked::new();
    let mut rng = Rng::new(seed);
    let mut stream = TcpStream::connect(addr).await?;
    let mut done = 0;
    while Instant::now() < deadline {
        eddy::sleep(Duration::from_micros(rng.below(5_000))).await;
        let len = 1 + rng.below(8_192) as usize;
        let mut out = vec![0; len];
        rng.fill(&mut out);
        // The checksum of what goes out is computed on the blocking pool meanwhile.
        let job = BlockingJob::submit();
        let copy = out.clone();
        let sum = eddy::spawn_blocking(move || {
            let sum = crate::harness::checksum(&copy);
            job.finish();
            sum
        });
        let exchange = async {
            stream.write_all(&out).await?;
            let mut back = vec![0; len];
            stream.read_exact(&mut back).await?;
            Ok::<_, io::Error>(back)
        };
        let back = eddy::timeout(Duration::from_secs(10), exchange)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no echo in 10 s"))??;
        let sum = sum.await.map_err(join_error)?;
        if crate::harness::checksum(&back) != sum {
            return Err(io::Error::other("echo came back corrupted"));
        }
        echoed.fetch_add(len as u64, Ordering::Relaxed);
        done += 1;
    }
    Ok(done)
}
