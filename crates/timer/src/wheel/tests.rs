//! Unit tests of the wheel's placement and cascading at level boundaries.

use super::*;

/// Advances to `now` and returns the fired values, sorted.
fn fire(wheel: &mut Wheel<u64>, now: u64) -> Vec<u64> {
    let mut out = Vec::new();
    wheel.advance(now, |_, v| out.push(v));
    out.sort_unstable();
    out
}

/// A timer at `deadline` fires at exactly that tick when the wheel steps one tick at a time
/// around it, and not a tick before.
fn fires_exactly_at(deadline: u64) {
    let mut wheel = Wheel::new();
    wheel.insert(deadline, deadline);
    assert!(
        fire(&mut wheel, deadline - 1).is_empty(),
        "early at {deadline}"
    );
    assert_eq!(fire(&mut wheel, deadline), [deadline]);
    assert!(wheel.is_empty());
}

#[test]
fn cascade_boundaries_fire_exactly_on_time() {
    for level in 1..=6u32 {
        let boundary = 1u64 << (BITS * level);
        for deadline in [boundary - 1, boundary, boundary + 1] {
            fires_exactly_at(deadline);
        }
    }
}

#[test]
fn stepping_across_a_boundary_one_tick_at_a_time() {
    // 63 -> 64 and 4095 -> 4096 with the wheel already close to them, so the timers sit on
    // level 0/1 and must cascade as the slot comes round.
    for (start, deadlines) in [
        (60u64, [63u64, 64, 65, 127, 128]),
        (4090, [4095, 4096, 4097, 8191, 8192]),
    ] {
        let mut wheel = Wheel::new();
        wheel.advance(start, |_, _: u64| unreachable!());
        for d in deadlines {
            wheel.insert(d, d);
        }
        let mut fired = Vec::new();
        for now in start..=deadlines[4] {
            for v in fire(&mut wheel, now) {
                assert_eq!(v, now, "timer {v} fired at {now}");
                fired.push(v);
            }
        }
        assert_eq!(fired, deadlines);
    }
}

#[test]
fn placement_levels() {
    let mut wheel: Wheel<()> = Wheel::new();
    assert_eq!(wheel.list_for(0), DUE);
    assert_eq!(wheel.list_for(1), 1);
    assert_eq!(wheel.list_for(63), 63);
    assert_eq!(wheel.list_for(64), 64 + 1, "64 is level 1, slot 1");
    assert_eq!(wheel.list_for(4095), 64 + 63);
    assert_eq!(wheel.list_for(4096), 2 * 64 + 1);
    assert_eq!(wheel.list_for(1 << 30), (TOP * SLOTS + 1) as u16);
    assert_eq!(
        wheel.list_for(1 << 36),
        (TOP * SLOTS) as u16,
        "one rotation ahead: the current top-level digit"
    );
    assert_eq!(wheel.list_for((1 << 36) + (1 << 30)), OVERFLOW);
    assert_eq!(wheel.list_for(u64::MAX), OVERFLOW);
    wheel.advance(100, |_, ()| {});
    assert_eq!(wheel.list_for(100), DUE);
    assert_eq!(
        wheel.list_for(101),
        101 % 64,
        "same 64-block as 100: level 0"
    );
    assert_eq!(wheel.list_for(128), 64 + 2);
}

#[test]
fn next_expiration_is_exact_on_level_zero_and_a_lower_bound_above() {
    let mut wheel = Wheel::new();
    assert_eq!(wheel.next_expiration(), None);
    wheel.insert(5000, ());
    let first = wheel.next_expiration().unwrap();
    assert!(first <= 5000 && first > 0);
    // Following next_expiration reaches the deadline in at most one step per level.
    let mut steps = 0;
    while let Some(next) = wheel.next_expiration() {
        assert!(next <= 5000);
        wheel.advance(next, |_, ()| {});
        steps += 1;
        assert!(steps <= LEVELS, "more steps than levels");
    }
    assert_eq!(wheel.elapsed(), 5000);
    wheel.insert(5001, ());
    assert_eq!(wheel.next_expiration(), Some(5001));
}

#[test]
fn past_deadlines_fire_at_next_advance() {
    let mut wheel = Wheel::new();
    wheel.advance(1000, |_, _: u64| unreachable!());
    wheel.insert(3, 3);
    wheel.insert(1000, 1000);
    assert_eq!(wheel.next_expiration(), Some(1000));
    assert_eq!(
        fire(&mut wheel, 0),
        [3, 1000],
        "even when `now` runs backwards"
    );
    assert_eq!(wheel.elapsed(), 1000);
}

#[test]
fn far_deadlines_and_huge_jumps() {
    let mut wheel = Wheel::new();
    let far = [1 << 36, (1 << 36) + 1, 1 << 40, u64::MAX - 1, u64::MAX];
    for d in far {
        wheel.insert(d, d);
    }
    assert!(fire(&mut wheel, (1 << 36) - 1).is_empty());
    assert_eq!(fire(&mut wheel, 1 << 36), [1 << 36]);
    assert_eq!(fire(&mut wheel, u64::MAX - 2), [(1 << 36) + 1, 1 << 40]);
    assert_eq!(fire(&mut wheel, u64::MAX - 1), [u64::MAX - 1]);
    assert_eq!(fire(&mut wheel, u64::MAX), [u64::MAX]);
    // At the end of time, everything is due at once.
    let key = wheel.insert(7, 7);
    assert_eq!(wheel.next_expiration(), Some(u64::MAX));
    assert_eq!(wheel.cancel(key), Some(7));
    assert_eq!(wheel.next_expiration(), None);
}

#[test]
fn following_next_expiration_to_a_far_deadline_takes_few_steps() {
    let mut wheel = Wheel::new();
    wheel.insert(u64::MAX, ());
    let mut steps = 0;
    while let Some(next) = wheel.next_expiration() {
        wheel.advance(next, |_, ()| {});
        steps += 1;
    }
    assert_eq!(wheel.elapsed(), u64::MAX);
    // One step per ring rotation would be 2^28 steps; the overflow list makes it one step
    // into the ring, then one per level.
    assert!(steps <= LEVELS + 2, "{steps} steps");
}

#[test]
fn stale_keys_never_touch_other_timers() {
    let mut wheel = Wheel::new();
    let a = wheel.insert(10, "a");
    assert_eq!(wheel.cancel(a), Some("a"));
    let b = wheel.insert(10, "b");
    assert_eq!(a.index, b.index, "the node is reused");
    assert_eq!(wheel.cancel(a), None);
    assert_eq!(wheel.reset(a, 20), Err(StaleKey));
    assert_eq!(wheel.get(a), None);
    assert_eq!(wheel.deadline(b), Some(10));
    let mut fired = Vec::new();
    wheel.advance(10, |k, v| fired.push((k, v)));
    assert_eq!(fired, [(b, "b")]);
    assert_eq!(wheel.cancel(b), None, "a fired key is stale too");
    // A key from another wheel's far-away index is just unknown.
    let bogus = TimerKey {
        index: 1_000_000,
        generation: 0,
    };
    assert_eq!(wheel.cancel(bogus), None);
}

#[test]
fn a_node_whose_generation_would_wrap_is_retired() {
    let mut wheel = Wheel::new();
    let a = wheel.insert(1, 1u8);
    wheel.nodes[a.index as usize].generation = u32::MAX;
    let old = TimerKey {
        index: a.index,
        generation: u32::MAX,
    };
    assert_eq!(wheel.cancel(old), Some(1));
    let b = wheel.insert(1, 2);
    assert_ne!(b.index, a.index, "the worn-out node is not reused");
    assert_eq!(wheel.cancel(old), None);
}

#[test]
fn reset_moves_within_and_across_levels() {
    let mut wheel = Wheel::new();
    let k = wheel.insert(1 << 20, 1u8);
    wheel.reset(k, 3).unwrap();
    assert_eq!(wheel.next_expiration(), Some(3));
    wheel.reset(k, u64::MAX).unwrap();
    assert!(fire_u8(&mut wheel, 1 << 40).is_empty());
    wheel.reset(k, 0).unwrap();
    assert_eq!(
        wheel.next_expiration(),
        Some(1 << 40),
        "past deadline: due now"
    );
    assert_eq!(fire_u8(&mut wheel, 1 << 40), [1]);
}

fn fire_u8(wheel: &mut Wheel<u8>, now: u64) -> Vec<u8> {
    let mut out = Vec::new();
    wheel.advance(now, |_, v| out.push(v));
    out
}

#[test]
fn many_timers_in_one_slot_are_linked_and_unlinked() {
    let mut wheel = Wheel::new();
    let keys: Vec<_> = (0..100u64).map(|i| wheel.insert(50, i)).collect();
    // Cancel from the middle, the head and the tail of the slot list.
    for &i in &[50usize, 99, 0] {
        assert_eq!(wheel.cancel(keys[i]), Some(i as u64));
    }
    assert_eq!(wheel.len(), 97);
    assert_eq!(fire(&mut wheel, 50).len(), 97);
    assert!(wheel.is_empty());
    assert_eq!(wheel.next_expiration(), None);
}
