//! timer_churn: ns per insert+cancel with 1k, 100k and 1M live timers.
//!
//! Three ways to hold the timers, each measured at the three sizes:
//!
//! - `sleep`: the full path a task pays: `eddy_timer::sleep(1 s)` created, polled once
//!   (registers with the driver, on the system clock) and dropped (cancels);
//! - `wheel`: the bare `Wheel<Waker>` insert + cancel, with the same fixed 1 s deadline and
//!   with a random deadline over the same 10 s (a different slot list almost every time);
//! - `btreemap`: `BTreeMap<(Instant, u64), Waker>` insert + remove, what async-io does.
//!
//! The live timers' deadlines are spread uniformly over 10 s. Each figure is the median of
//! `RUNS` runs of `OPS` operations. Run with `cargo bench -p eddy-timer`; under `cargo test`
//! (no `--bench` argument) it only smoke-tests each workload at a small size.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use eddy_timer::{Driver, Wheel, sleep};

const SIZES: [usize; 3] = [1_000, 100_000, 1_000_000];
const RUNS: usize = 7;
const OPS: u32 = 200_000;
/// Sizes and operation count of the smoke test that `cargo test --all-targets` runs.
const SMOKE_SIZES: [usize; 1] = [1_000];
const SMOKE_OPS: u32 = 1_000;

/// xorshift64*: a few random numbers without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `1..=max`.
    fn below(&mut self, max: u64) -> u64 {
        self.next() % max + 1
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// How much work each measurement does.
#[derive(Clone, Copy)]
struct Plan {
    runs: usize,
    ops: u32,
}

/// Median ns per call of `op` over `plan.runs` runs of `plan.ops` calls.
fn measure(plan: Plan, mut op: impl FnMut(u32)) -> f64 {
    // Warm up caches and the allocator.
    for i in 0..plan.ops / 10 {
        op(i);
    }
    let runs = (0..plan.runs)
        .map(|_| {
            let t = Instant::now();
            for i in 0..plan.ops {
                op(i);
            }
            t.elapsed().as_nanos() as f64 / f64::from(plan.ops)
        })
        .collect();
    median(runs)
}

fn bench_sleep(plan: Plan, n: usize) -> f64 {
    let driver = Driver::new();
    let _guard = driver.handle().enter();
    let mut cx = Context::from_waker(Waker::noop());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut live: Vec<_> = (0..n)
        .map(|_| sleep(Duration::from_millis(rng.below(10_000))))
        .collect();
    for s in &mut live {
        assert!(s.poll_elapsed(&mut cx).is_pending());
    }
    let ns = measure(plan, |_| {
        let mut s = sleep(Duration::from_secs(1));
        assert!(black_box(s.poll_elapsed(&mut cx)).is_pending());
        drop(s);
    });
    assert_eq!(driver.len(), n);
    ns
}

fn bench_wheel(plan: Plan, n: usize, random: bool) -> f64 {
    let mut wheel = Wheel::with_capacity(n + 1);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..n {
        wheel.insert(rng.below(10_000), Waker::noop().clone());
    }
    let deadlines: Vec<u64> = (0..plan.ops).map(|_| rng.below(10_000)).collect();
    let ns = measure(plan, |i| {
        let deadline = if random { deadlines[i as usize] } else { 1_000 };
        let key = wheel.insert(deadline, Waker::noop().clone());
        black_box(wheel.cancel(key));
    });
    assert_eq!(wheel.len(), n);
    ns
}

fn bench_btreemap(plan: Plan, n: usize) -> f64 {
    let mut map = BTreeMap::new();
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let base = Instant::now();
    for id in 0..n as u64 {
        let at = base + Duration::from_millis(rng.below(10_000));
        map.insert((at, id), Waker::noop().clone());
    }
    let mut id = n as u64;
    let ns = measure(plan, |_| {
        id += 1;
        let at = Instant::now() + Duration::from_secs(1);
        map.insert((at, id), Waker::noop().clone());
        black_box(map.remove(&(at, id)));
    });
    assert_eq!(map.len(), n);
    ns
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (sizes, plan) = if bench {
        (
            &SIZES[..],
            Plan {
                runs: RUNS,
                ops: OPS,
            },
        )
    } else {
        (
            &SMOKE_SIZES[..],
            Plan {
                runs: 1,
                ops: SMOKE_OPS,
            },
        )
    };
    println!(
        "timer_churn: ns per insert+cancel (median of {} runs x {} ops)",
        plan.runs, plan.ops
    );
    // The primitive under every `sleep`: one read of the system clock.
    let clock = measure(plan, |_| {
        black_box(Instant::now());
    });
    println!("(Instant::now alone: {clock:.1} ns; sleep = clock read + 2 lock/unlock + wheel)");
    println!(
        "{:>10} {:>10} {:>12} {:>13} {:>10}",
        "live", "sleep", "wheel(1s)", "wheel(rand)", "btreemap"
    );
    let mut rows = Vec::new();
    for &n in sizes {
        let row = (
            bench_sleep(plan, n),
            bench_wheel(plan, n, false),
            bench_wheel(plan, n, true),
            bench_btreemap(plan, n),
        );
        println!(
            "{n:>10} {:>10.1} {:>12.1} {:>13.1} {:>10.1}",
            row.0, row.1, row.2, row.3
        );
        rows.push(row);
    }
    let (first, last) = (rows[0], rows[rows.len() - 1]);
    println!(
        "largest / smallest: sleep {:.2}x, wheel(1s) {:.2}x, wheel(rand) {:.2}x, btreemap {:.2}x",
        last.0 / first.0,
        last.1 / first.1,
        last.2 / first.2,
        last.3 / first.3
    );
}
