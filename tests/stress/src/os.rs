//! The process's own resources under churn: child processes with piped I/O, and signals
//! from another process.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use eddy::process::Command;
use eddy::signal::{SignalKind, signal};

use crate::harness::{Ctx, Flavor, Rng, checksum};

/// How long any one wait of these scenarios may take before it counts as lost.
const PATIENCE: Duration = Duration::from_secs(60);

/// This process's children that are zombies, from `/proc` (pid, after the fields' `)`).
fn zombies() -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let rest = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
            let mut fields = rest.split(' ');
            let state = fields.next();
            let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
            state == Some("Z") && ppid == Some(me)
        })
        .collect()
}

/// Children of `cat`, 64 at a time, each fed a random payload (up to 256 KiB, more than a
/// pipe holds) read back concurrently and checked; one in eight is instead dropped mid-run
/// with `kill_on_drop`, and one in eight killed and waited for. At the end no zombie may be
/// left (the reaper collects the dropped ones).
pub(crate) fn process_churn(ctx: &Ctx) {
    let children = ctx.pick(4_000, 400);
    // The reaper's SIGCHLD handler opens eddy's signal pipe, the process's for good.
    ctx.keep_fds(|| drop(signal(SignalKind::child()).expect("SIGCHLD listener")));
    for flavor in Flavor::BOTH {
        let rt = flavor.runtime();
        let next = Arc::new(AtomicUsize::new(0));
        rt.block_on(async {
            let workers: Vec<_> = (0..64u64)
                .map(|w| {
                    let next = Arc::clone(&next);
                    eddy::spawn(async move {
                        let mut rng = Rng::new(w);
                        let mut results = Vec::new();
                        while next.fetch_add(1, Ordering::Relaxed) < children {
                            results.push(one_child(&mut rng).await);
                        }
                        results
                    })
                })
                .collect();
            for worker in workers {
                match eddy::timeout(PATIENCE, worker).await {
                    Ok(Ok(results)) => {
                        for result in results {
                            match result {
                                Ok(()) => ctx.ops(1),
                                Err(e) => ctx.error(format!("{}: {e}", flavor.label())),
                            }
                        }
                    }
                    Ok(Err(e)) => ctx.error(format!("{}: a worker failed: {e}", flavor.label())),
                    Err(_) => ctx.lose(1, format!("{}: a worker never finished", flavor.label())),
                }
            }
        });
        drop(rt);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut left = zombies();
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        left = zombies();
    }
    if !left.is_empty() {
        ctx.lose(left.len() as u64, format!("zombie children left: {left:?}"));
    }
}

/// One child of [`process_churn`].
async fn one_child(rng: &mut Rng) -> Result<(), String> {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("spawn: {e}"))?;
    match rng.below(8) {
        0 => {
            drop(child);
            return Ok(());
        }
        1 => {
            let status = child.kill().await.map_err(|e| format!("kill: {e}"))?;
            return match std::os::unix::process::ExitStatusExt::signal(&status) {
                Some(libc::SIGKILL) => Ok(()),
                _ => Err(format!("a killed child ended with {status}")),
            };
        }
        _ => {}
    }
    let mut payload = vec![0u8; rng.below(256 * 1024) as usize];
    rng.fill(&mut payload);
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let sent = payload.clone();
    let writer = eddy::spawn(async move { stdin.write_all(&sent).await });
    let mut echoed = Vec::new();
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    stdout
        .read_to_end(&mut echoed)
        .await
        .map_err(|e| format!("read: {e}"))?;
    writer
        .await
        .map_err(|e| format!("writer: {e}"))?
        .map_err(|e| format!("write: {e}"))?;
    if checksum(&echoed) != checksum(&payload) || echoed.len() != payload.len() {
        return Err(format!(
            "cat echoed {} bytes for {} sent, or other bytes",
            echoed.len(),
            payload.len()
        ));
    }
    let status = child.wait().await.map_err(|e| format!("wait: {e}"))?;
    if !status.success() {
        return Err(format!("cat ended with {status}"));
    }
    Ok(())
}

/// The shell loop that sends `SIGUSR1` to `$1`, `$2` times with its builtin `kill`.
const SENDER: &str =
    r#"i=0; while [ "$i" -lt "$2" ]; do kill -USR1 "$1" || exit 1; i=$((i+1)); done"#;

/// Signals from another process (two senders at once) while eight listeners keep listening
/// and eight tasks keep making and dropping listeners; then 1,000 single deliveries, each
/// of which every steady listener must see before the next. Ops are deliveries sent.
pub(crate) fn signal_storm(ctx: &Ctx) {
    let signals = ctx.pick(50_000, 10_000);
    let rounds = ctx.pick(1_000, 100);
    ctx.keep_fds(|| drop(signal(SignalKind::user_defined1()).expect("listener")));
    for flavor in Flavor::BOTH {
        let rt = flavor.runtime();
        rt.block_on(async {
            let done = Arc::new(AtomicBool::new(false));
            let round = Arc::new(AtomicUsize::new(0));
            let acked: Arc<Vec<AtomicUsize>> =
                Arc::new((0..8).map(|_| AtomicUsize::new(0)).collect());
            let steady: Vec<_> = (0..8)
                .map(|i| {
                    let mut listener = signal(SignalKind::user_defined1()).expect("listener");
                    let (round, acked) = (Arc::clone(&round), Arc::clone(&acked));
                    eddy::spawn(async move {
                        loop {
                            listener.recv().await;
                            let now = round.load(Ordering::SeqCst);
                            acked[i].store(now, Ordering::SeqCst);
                            if now == rounds {
                                return;
                            }
                        }
                    })
                })
                .collect();
            let churning: Vec<_> = (0..8u64)
                .map(|i| {
                    let done = Arc::clone(&done);
                    eddy::spawn(async move {
                        let mut made = 0u64;
                        while !done.load(Ordering::SeqCst) {
                            let mut listener =
                                signal(SignalKind::user_defined1()).expect("listener");
                            made += 1;
                            for _ in 0..=(made + i) % 5 {
                                let _ =
                                    eddy::timeout(Duration::from_millis(1), listener.recv()).await;
                            }
                        }
                    })
                })
                .collect();
            let senders: Vec<_> = (0..2)
                .map(|_| {
                    eddy::spawn(async move {
                        Command::new("sh")
                            .args(["-c", SENDER, "sh"])
                            .arg(std::process::id().to_string())
                            .arg((signals / 2).to_string())
                            .status()
                            .await
                    })
                })
                .collect();
            for sender in senders {
                match sender.await {
                    Ok(Ok(status)) if status.success() => ctx.ops((signals / 2) as u64),
                    other => ctx.error(format!("{}: a sender failed: {other:?}", flavor.label())),
                }
            }
            done.store(true, Ordering::SeqCst);
            for r in 1..=rounds {
                round.store(r, Ordering::SeqCst);
                // SAFETY: raise has no preconditions; SIGUSR1 is handled (listeners exist).
                unsafe { libc::raise(libc::SIGUSR1) };
                let deadline = Instant::now() + PATIENCE;
                while acked.iter().any(|a| a.load(Ordering::SeqCst) < r) {
                    if Instant::now() > deadline {
                        ctx.lose(
                            1,
                            format!("{}: round {r}'s delivery missed a listener", flavor.label()),
                        );
                        return;
                    }
                    eddy::sleep(Duration::from_micros(100)).await;
                }
                ctx.ops(1);
            }
            for task in steady.into_iter().chain(churning) {
                if let Err(e) = task.await {
                    ctx.error(format!("{}: a listener task failed: {e}", flavor.label()));
                }
            }
        });
        drop(rt);
    }
}
