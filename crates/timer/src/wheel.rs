//! A hashed hierarchical timing wheel over integer ticks (Varghese & Lauck, 1987).
//!
//! # Layout
//!
//! Six levels of 64 slots. A slot of level `l` spans `64^l` ticks, so level 0 has one slot
//! per tick and level 5 one per `2^30` ticks. An entry with deadline `d` lives in the level
//! of the highest 6-bit digit in which `d` differs from `elapsed` (the tick the wheel has
//! been advanced to), in the slot named by that digit of `d`. Every slot is an intrusive
//! doubly linked list threaded through the slab that stores the entries, and each level keeps
//! a `u64` bitmap of its non-empty slots, so finding the next slot to process is a few
//! bit operations per level. `docs/timer-wheel.md` has the diagram.
//!
//! # Invariants
//!
//! - Every entry in a level-`l` slot (`l < 5`) agrees with `elapsed` on all digits above `l`,
//!   and its digit `l` is greater than `elapsed`'s. The slot's start tick is therefore in the
//!   future and the lowest non-empty level holds the earliest slot.
//! - Level 5 is a ring: slot `k` stands for the next tick after `elapsed`'s own level-5 slot
//!   whose digit 5 is `k`, one to 64 slots ahead (64 ahead is the current digit, one lap
//!   on). A slot's start never exceeds the deadline of any entry in it.
//! - Deadlines further away than the ring reaches (up to `u64::MAX`) wait on an overflow
//!   list with a lower bound of their minimum deadline. The list is processed when that
//!   bound comes within the ring's reach, so a far deadline costs one extra step, not one
//!   per rotation.
//! - Deadlines at or before `elapsed` go on a separate due list that the next `advance` fires
//!   first.
//!
//! `advance(now)` repeatedly takes the earliest slot whose start is `<= now`, fires the
//! entries whose deadline is `<= now` and sets the others aside; when no slot is left it
//! moves `elapsed` to `now` and places the set-aside entries again, one level or more lower.
//! Each entry is touched at most once per `advance`, however far it jumps.

use std::fmt;

/// Number of levels.
const LEVELS: usize = 6;
/// Bits of a tick each level consumes.
const BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << BITS;
/// Index of the top level, which is a ring.
const TOP: usize = LEVELS - 1;
/// Ticks spanned by one slot of the top level.
const TOP_SLOT_TICKS: u64 = 1 << (BITS * TOP as u32);
/// List id of the due list (deadline already reached when inserted).
const DUE: u16 = (LEVELS * SLOTS) as u16;
/// List id of the overflow list (beyond the top level's ring).
const OVERFLOW: u16 = DUE + 1;
/// List id of an entry that is in no list (set aside during `advance`).
const DETACHED: u16 = u16::MAX;
/// End of a list, and "no entry".
const NIL: u32 = u32::MAX;

/// Identifies one timer in a [`Wheel`]. Keys are generation-checked: once the timer has fired
/// or been cancelled, its key never refers to another timer, even when the storage is reused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TimerKey {
    index: u32,
    generation: u32,
}

/// The error of [`Wheel::reset`] when the key's timer has already fired or been cancelled.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub struct StaleKey;

impl fmt::Display for StaleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timer key is stale: its timer already fired or was cancelled")
    }
}

impl std::error::Error for StaleKey {}

/// One slab node: a live timer, or a free node on the free list (`value` is `None`).
struct Node<T> {
    value: Option<T>,
    deadline: u64,
    /// Previous node in the slot list (`NIL` for the head).
    prev: u32,
    /// Next node in the slot list, or in the free list while vacant.
    next: u32,
    /// Bumped when the node is freed; a key must match it.
    generation: u32,
    /// Which list the node is on: `level * 64 + slot`, `DUE` or `DETACHED`.
    list: u16,
}

/// A hierarchical timing wheel of values of type `T`, keyed by deadline in integer ticks.
///
/// The wheel is pure: it has no clock. Time moves only when the caller says so with
/// [`advance`](Self::advance), which makes it deterministic and easy to test.
///
/// | operation | cost |
/// | --- | --- |
/// | [`insert`](Self::insert), [`cancel`](Self::cancel), [`reset`](Self::reset) | O(1) |
/// | [`next_expiration`](Self::next_expiration) | O(levels), from bitmaps |
/// | [`advance`](Self::advance) | O(slots visited + entries fired or moved) |
///
/// Any `u64` deadline is accepted; none causes a panic or an overflow. Deadlines at or before
/// the current tick fire at the next `advance`.
///
/// # Examples
///
/// ```
/// use eddy_timer::Wheel;
///
/// let mut wheel = Wheel::new();
/// let a = wheel.insert(10, "a");
/// let b = wheel.insert(5_000, "b");
/// assert_eq!(wheel.cancel(b), Some("b"));
/// assert_eq!(wheel.next_expiration(), Some(10));
///
/// let mut fired = Vec::new();
/// wheel.advance(10, |key, value| fired.push((key, value)));
/// assert_eq!(fired, [(a, "a")]);
/// assert_eq!(wheel.cancel(a), None, "a fired key is stale");
/// ```
pub struct Wheel<T> {
    nodes: Vec<Node<T>>,
    /// Head of the free list of vacant nodes (threaded through `next`).
    free: u32,
    /// Head of each slot list, level-major, then the due list.
    heads: Box<[u32; LEVELS * SLOTS + 2]>,
    /// Bit `k` of `occupied[l]` is set iff slot `k` of level `l` is non-empty.
    occupied: [u64; LEVELS],
    /// At or below the smallest deadline on the overflow list (not raised on cancel).
    overflow_min: u64,
    /// Every deadline `<= elapsed` has fired, except those on the due list.
    elapsed: u64,
    len: usize,
}

impl<T> Wheel<T> {
    /// An empty wheel at tick 0.
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// An empty wheel at tick 0 with room for `capacity` timers before it allocates.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            nodes: Vec::with_capacity(capacity),
            free: NIL,
            heads: Box::new([NIL; LEVELS * SLOTS + 2]),
            overflow_min: u64::MAX,
            occupied: [0; LEVELS],
            elapsed: 0,
            len: 0,
        }
    }

    /// Number of live timers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no timer is live.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The tick the wheel has been advanced to.
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Adds a timer that fires at the first [`advance`](Self::advance) to a tick
    /// `>= deadline`, and returns its key.
    ///
    /// # Panics
    ///
    /// If `u32::MAX - 1` timers are already live (memory runs out long before).
    pub fn insert(&mut self, deadline: u64, value: T) -> TimerKey {
        let index = if self.free != NIL {
            let index = self.free;
            let node = &mut self.nodes[index as usize];
            self.free = node.next;
            node.value = Some(value);
            node.deadline = deadline;
            index
        } else {
            let index = u32::try_from(self.nodes.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("Wheel invariant: fewer than u32::MAX - 1 live timers");
            self.nodes.push(Node {
                value: Some(value),
                deadline,
                prev: NIL,
                next: NIL,
                generation: 0,
                list: DETACHED,
            });
            index
        };
        self.len += 1;
        self.place(index);
        TimerKey {
            index,
            generation: self.nodes[index as usize].generation,
        }
    }

    /// Removes the timer and returns its value, or `None` if the key is stale (the timer
    /// already fired or was cancelled).
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        let index = self.live(key)?;
        self.unlink(index);
        Some(self.free_node(index))
    }

    /// Moves a live timer to a new deadline, keeping its value and key.
    ///
    /// # Errors
    ///
    /// [`StaleKey`] if the timer already fired or was cancelled.
    pub fn reset(&mut self, key: TimerKey, deadline: u64) -> Result<(), StaleKey> {
        let index = self.live(key).ok_or(StaleKey)?;
        self.unlink(index);
        self.nodes[index as usize].deadline = deadline;
        self.place(index);
        Ok(())
    }

    /// The value of a live timer.
    pub fn get(&self, key: TimerKey) -> Option<&T> {
        let index = self.live(key)?;
        self.nodes[index as usize].value.as_ref()
    }

    /// The value of a live timer, mutably.
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        let index = self.live(key)?;
        self.nodes[index as usize].value.as_mut()
    }

    /// The deadline of a live timer.
    pub fn deadline(&self, key: TimerKey) -> Option<u64> {
        let index = self.live(key)?;
        Some(self.nodes[index as usize].deadline)
    }

    /// A tick at or before the earliest deadline of the live timers, at which
    /// [`advance`](Self::advance) has work to do; `None` if no timer is live.
    ///
    /// For timers on level 0 (due within the current 64-tick block) this is the exact
    /// deadline; for the others it is the start of their slot, where they cascade one level
    /// down. It is `elapsed()` when a timer was inserted with a deadline already reached.
    pub fn next_expiration(&self) -> Option<u64> {
        // Every list is empty when nothing is live: skip the scan of six bitmaps, which a
        // runtime with no timers would otherwise pay on every park.
        if self.len == 0 {
            return None;
        }
        self.next_slot().map(|(_, start)| start)
    }

    /// Moves time to `now` and calls `fire` with every timer whose deadline is `<= now`,
    /// removing it; returns how many fired. A `now` below [`elapsed`](Self::elapsed) is
    /// treated as `elapsed` (time never runs backwards in the wheel).
    ///
    /// Timers fire in slot order, which is deadline order except inside one higher-level
    /// slot that `now` passed entirely.
    pub fn advance(&mut self, now: u64, mut fire: impl FnMut(TimerKey, T)) -> usize {
        self.advance_with_deadlines(now, |key, _, value| fire(key, value))
    }

    /// [`advance`](Self::advance), also telling `fire` each timer's deadline tick (so the
    /// caller can measure how late it fires).
    pub fn advance_with_deadlines(
        &mut self,
        now: u64,
        mut fire: impl FnMut(TimerKey, u64, T),
    ) -> usize {
        let now = now.max(self.elapsed);
        let mut fired = 0;
        let mut aside = NIL;
        while let Some((list, start)) = self.next_slot() {
            if start > now {
                break;
            }
            // Moving `elapsed` to the slot's start keeps every other entry's placement valid:
            // no other slot starts earlier.
            self.elapsed = start;
            let mut index = self.take_list(list);
            while index != NIL {
                let node = &mut self.nodes[index as usize];
                let next = node.next;
                if node.deadline <= now {
                    let key = TimerKey {
                        index,
                        generation: node.generation,
                    };
                    let deadline = node.deadline;
                    let value = self.free_node(index);
                    fired += 1;
                    fire(key, deadline, value);
                } else {
                    node.list = DETACHED;
                    node.next = aside;
                    aside = index;
                }
                index = next;
            }
        }
        self.elapsed = now;
        while aside != NIL {
            let next = self.nodes[aside as usize].next;
            self.place(aside);
            aside = next;
        }
        fired
    }

    /// The index of the live node `key` names.
    fn live(&self, key: TimerKey) -> Option<u32> {
        let node = self.nodes.get(key.index as usize)?;
        (node.generation == key.generation && node.value.is_some()).then_some(key.index)
    }

    /// Frees a node that is on no list and returns its value.
    fn free_node(&mut self, index: u32) -> T {
        let node = &mut self.nodes[index as usize];
        let value = node
            .value
            .take()
            .expect("Wheel invariant: a node being freed is live");
        node.list = DETACHED;
        node.prev = NIL;
        // A node whose generation would wrap is retired instead of reused, so a key can never
        // name a later timer.
        if let Some(generation) = node.generation.checked_add(1) {
            node.generation = generation;
            node.next = self.free;
            self.free = index;
        }
        self.len -= 1;
        value
    }

    /// The list a deadline belongs on, given the current `elapsed`.
    fn list_for(&self, deadline: u64) -> u16 {
        let elapsed = self.elapsed;
        if deadline <= elapsed {
            return DUE;
        }
        let differ = elapsed ^ deadline;
        if differ >> (BITS * TOP as u32) != 0 {
            // Top level, as a ring: count whole top-level slots from the start of the current
            // one (at least 1, since `deadline` is in a later one), up to one rotation.
            let base = elapsed & !(TOP_SLOT_TICKS - 1);
            let ahead = (deadline - base) >> (BITS * TOP as u32);
            if ahead > SLOTS as u64 {
                return OVERFLOW;
            }
            let slot = ((elapsed >> (BITS * TOP as u32)) + ahead) % SLOTS as u64;
            return (TOP * SLOTS) as u16 + slot as u16;
        }
        let level = (63 - (differ | (SLOTS as u64 - 1)).leading_zeros()) / BITS;
        let slot = (deadline >> (BITS * level)) % SLOTS as u64;
        (level as usize * SLOTS) as u16 + slot as u16
    }

    /// Links a detached live node into the list its deadline belongs on.
    fn place(&mut self, index: u32) {
        let list = self.list_for(self.nodes[index as usize].deadline);
        let head = self.heads[list as usize];
        if head != NIL {
            self.nodes[head as usize].prev = index;
        }
        let node = &mut self.nodes[index as usize];
        node.prev = NIL;
        node.next = head;
        node.list = list;
        self.heads[list as usize] = index;
        match list {
            DUE => {}
            OVERFLOW => self.overflow_min = self.overflow_min.min(node.deadline),
            _ => self.occupied[list as usize / SLOTS] |= 1 << (list as usize % SLOTS),
        }
    }

    /// Unlinks a live node from its list.
    fn unlink(&mut self, index: u32) {
        let Node {
            prev, next, list, ..
        } = self.nodes[index as usize];
        if prev != NIL {
            self.nodes[prev as usize].next = next;
        } else if list != DETACHED {
            self.heads[list as usize] = next;
            if next == NIL && list < DUE {
                self.occupied[list as usize / SLOTS] &= !(1 << (list as usize % SLOTS));
            }
        }
        if next != NIL {
            self.nodes[next as usize].prev = prev;
        }
        let node = &mut self.nodes[index as usize];
        node.prev = NIL;
        node.next = NIL;
        node.list = DETACHED;
    }

    /// Empties a list and returns its old head; the nodes keep their `next` links.
    fn take_list(&mut self, list: u16) -> u32 {
        let head = std::mem::replace(&mut self.heads[list as usize], NIL);
        match list {
            DUE => {}
            OVERFLOW => self.overflow_min = u64::MAX,
            _ => self.occupied[list as usize / SLOTS] &= !(1 << (list as usize % SLOTS)),
        }
        head
    }

    /// The earliest non-empty list and the tick at which it must be processed.
    fn next_slot(&self) -> Option<(u16, u64)> {
        if self.heads[DUE as usize] != NIL {
            return Some((DUE, self.elapsed));
        }
        let wheel = self.next_wheel_slot();
        if self.heads[OVERFLOW as usize] == NIL {
            return wheel;
        }
        // The smallest overflow deadline enters the ring (64 top-level slots ahead) at the
        // start of the top-level slot 64 before its own. `overflow_min` may be lower than any
        // live deadline after a cancel; then the list is processed early, which only
        // recomputes the bound.
        let enters = (self.overflow_min & !(TOP_SLOT_TICKS - 1))
            .saturating_sub(TOP_SLOT_TICKS << BITS)
            .max(self.elapsed);
        match wheel {
            Some((_, start)) if start <= enters => wheel,
            _ => Some((OVERFLOW, enters)),
        }
    }

    /// The earliest non-empty slot of the six levels and its start tick.
    fn next_wheel_slot(&self) -> Option<(u16, u64)> {
        for level in 0..TOP {
            let occupied = self.occupied[level];
            if occupied != 0 {
                let slot = u64::from(occupied.trailing_zeros());
                let shift = BITS * level as u32;
                let level_start = self.elapsed & !((1u64 << (shift + BITS)) - 1);
                let start = level_start + (slot << shift);
                return Some(((level * SLOTS) as u16 + slot as u16, start));
            }
        }
        let occupied = self.occupied[TOP];
        if occupied == 0 {
            return None;
        }
        let shift = BITS * TOP as u32;
        let current = (self.elapsed >> shift) % SLOTS as u64;
        // Rotate so that bit 0 is the slot one ahead of the current one.
        let rotated = occupied.rotate_right(((current + 1) % SLOTS as u64) as u32);
        let ahead = u64::from(rotated.trailing_zeros()) + 1;
        let slot = (current + ahead) % SLOTS as u64;
        let base = self.elapsed & !(TOP_SLOT_TICKS - 1);
        // Never saturates while the invariants hold (a slot's start is at most the deadline of
        // an entry in it); saturating keeps a broken invariant from becoming an overflow.
        let start = base.saturating_add(ahead << shift);
        Some(((TOP * SLOTS) as u16 + slot as u16, start))
    }
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Wheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("len", &self.len)
            .field("elapsed", &self.elapsed)
            .field("next_expiration", &self.next_expiration())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(eddy_loom)))]
mod tests;
