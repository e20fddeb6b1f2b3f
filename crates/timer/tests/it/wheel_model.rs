//! The wheel against a `BTreeMap` model: random inserts, cancels, resets and advances
//! (including huge jumps, past deadlines and `u64::MAX`) fire the same timers, each exactly
//! once, none early and none missed.

use std::collections::{BTreeMap, HashMap};

use eddy_timer::{StaleKey, TimerKey, Wheel};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum When {
    /// Ticks after the wheel's current tick.
    After(u64),
    /// An absolute tick (often in the past or far away).
    At(u64),
}

#[derive(Clone, Debug)]
enum Op {
    Insert(When),
    Cancel(usize),
    CancelStale(usize),
    Reset(usize, When),
    Advance(When),
    /// Advance to `next_expiration()`, as a driver would.
    AdvanceToNext,
}

fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        4 => (0u64..130).prop_map(When::After),
        3 => (0u64..5_000).prop_map(When::After),
        2 => (0u64..300_000).prop_map(When::After),
        1 => (0u64..1 << 40).prop_map(When::After),
        1 => any::<u64>().prop_map(When::At),
        1 => Just(When::At(u64::MAX)),
        1 => (0u64..100).prop_map(When::At),
        1 => (0u64..(1 << 30)).prop_map(|d| When::At(u64::MAX - d)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => when().prop_map(Op::Insert),
        2 => any::<usize>().prop_map(Op::Cancel),
        1 => any::<usize>().prop_map(Op::CancelStale),
        2 => (any::<usize>(), when()).prop_map(|(i, w)| Op::Reset(i, w)),
        3 => when().prop_map(Op::Advance),
        2 => Just(Op::AdvanceToNext),
    ]
}

fn resolve(when: &When, elapsed: u64) -> u64 {
    match *when {
        When::After(d) => elapsed.saturating_add(d),
        When::At(t) => t,
    }
}

struct Model {
    wheel: Wheel<u64>,
    /// Live timers: id -> (key, deadline).
    live: BTreeMap<u64, (TimerKey, u64)>,
    /// Keys that fired or were cancelled.
    dead: Vec<TimerKey>,
    next_id: u64,
}

impl Model {
    fn check(&self) -> Result<(), TestCaseError> {
        prop_assert_eq!(self.wheel.len(), self.live.len());
        let elapsed = self.wheel.elapsed();
        match self.live.values().map(|&(_, d)| d).min() {
            None => prop_assert_eq!(self.wheel.next_expiration(), None),
            Some(min) => {
                let next = self.wheel.next_expiration();
                prop_assert!(next.is_some(), "live timers but no next_expiration");
                let next = next.unwrap();
                prop_assert!(
                    next >= elapsed,
                    "next_expiration {next} before elapsed {elapsed}"
                );
                prop_assert!(
                    next <= min.max(elapsed),
                    "next_expiration {next} after the earliest deadline {min}"
                );
            }
        }
        Ok(())
    }

    fn advance(&mut self, now: u64) -> Result<(), TestCaseError> {
        let now = now.max(self.wheel.elapsed());
        let mut fired: HashMap<TimerKey, u64> = HashMap::new();
        let mut twice = None;
        self.wheel.advance(now, |key, id| {
            if fired.insert(key, id).is_some() {
                twice = Some(key);
            }
        });
        prop_assert_eq!(twice, None, "a timer fired twice");
        let due: Vec<u64> = self
            .live
            .iter()
            .filter(|&(_, &(_, d))| d <= now)
            .map(|(&id, _)| id)
            .collect();
        let mut got: Vec<u64> = fired.values().copied().collect();
        got.sort_unstable();
        prop_assert_eq!(
            &got,
            &due,
            "fired set differs from the model at now={}",
            now
        );
        for (key, id) in fired {
            let (k, d) = self.live.remove(&id).unwrap();
            prop_assert_eq!(k, key);
            prop_assert!(d <= now, "fired early: deadline {d} at {now}");
            self.dead.push(key);
        }
        prop_assert_eq!(self.wheel.elapsed(), now);
        if let Some(next) = self.wheel.next_expiration() {
            prop_assert!(next > now, "missed: something still due at {next} <= {now}");
        }
        Ok(())
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut m = Model {
        wheel: Wheel::new(),
        live: BTreeMap::new(),
        dead: Vec::new(),
        next_id: 0,
    };
    for op in ops {
        let elapsed = m.wheel.elapsed();
        match op {
            Op::Insert(w) => {
                let deadline = resolve(&w, elapsed);
                let id = m.next_id;
                m.next_id += 1;
                let key = m.wheel.insert(deadline, id);
                m.live.insert(id, (key, deadline));
            }
            Op::Cancel(i) => {
                if let Some((&id, &(key, _))) = m.live.iter().nth(i % m.live.len().max(1)) {
                    prop_assert_eq!(m.wheel.cancel(key), Some(id));
                    m.live.remove(&id);
                    m.dead.push(key);
                }
            }
            Op::CancelStale(i) => {
                if !m.dead.is_empty() {
                    let key = m.dead[i % m.dead.len()];
                    prop_assert_eq!(m.wheel.cancel(key), None);
                    let stale = matches!(m.wheel.reset(key, 1), Err(StaleKey { .. }));
                    prop_assert!(stale, "reset of a stale key");
                    prop_assert_eq!(m.wheel.get(key), None);
                }
            }
            Op::Reset(i, w) => {
                if let Some((&id, &(key, _))) = m.live.iter().nth(i % m.live.len().max(1)) {
                    let deadline = resolve(&w, elapsed);
                    prop_assert_eq!(m.wheel.reset(key, deadline), Ok(()));
                    prop_assert_eq!(m.wheel.deadline(key), Some(deadline));
                    m.live.insert(id, (key, deadline));
                }
            }
            Op::Advance(w) => m.advance(resolve(&w, elapsed))?,
            Op::AdvanceToNext => {
                if let Some(next) = m.wheel.next_expiration() {
                    m.advance(next)?;
                }
            }
        }
        m.check()?;
    }
    // Drain: following next_expiration fires everything, in a bounded number of steps.
    let mut steps = 0;
    while let Some(next) = m.wheel.next_expiration() {
        m.advance(next)?;
        steps += 1;
        prop_assert!(steps <= 10_000, "draining does not converge");
    }
    prop_assert!(
        m.live.is_empty(),
        "timers left that never fire: {:?}",
        m.live
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn wheel_matches_btreemap_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(ops)?;
    }
}
