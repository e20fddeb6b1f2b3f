//! `WakerList`: the wakers of the futures waiting for one condition, kept under the
//! caller's lock.
//!
//! The condition's owner holds the list inside the `Mutex` that guards the condition, so a
//! future that looks at the condition and registers its waker does both in one critical
//! section, and a change of the condition and the [`take_all`](WakerList::take_all) that
//! follows it happen in another: no wake can fall between a look and a registration.
//! Registration, refresh and removal are O(1): each future keeps the [`Key`] of its slot.
//! `take_all` empties the list and starts a new epoch, so the keys handed out before it go
//! stale; a future that holds a stale key registers afresh, and removing a stale key does
//! nothing, so no slot is ever freed twice or reused under its old owner.

use std::mem;
use std::task::Waker;

/// Wakers of the futures waiting for one condition; see the module docs.
#[derive(Debug, Default)]
pub(crate) struct WakerList {
    /// One slot per registered future; `None` for a free slot.
    slots: Vec<Option<Waker>>,
    /// Indexes of the free slots.
    free: Vec<usize>,
    /// Bumped by every `take_all`; a key from an older epoch is stale.
    epoch: u64,
}

/// Where one future's waker is in a [`WakerList`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Key {
    epoch: u64,
    index: usize,
}

impl WakerList {
    /// An empty list.
    pub(crate) fn new() -> WakerList {
        WakerList::default()
    }

    /// Registers `waker` for the future that holds `key` (`None` for one that holds no
    /// slot yet, or a stale key), or refreshes its waker if it changed.
    pub(crate) fn register(&mut self, key: &mut Option<Key>, waker: &Waker) {
        if let Some(k) = *key
            && k.epoch == self.epoch
        {
            let slot = &mut self.slots[k.index];
            if !slot.as_ref().is_some_and(|old| old.will_wake(waker)) {
                *slot = Some(waker.clone());
            }
            return;
        }
        let index = match self.free.pop() {
            Some(index) => {
                self.slots[index] = Some(waker.clone());
                index
            }
            None => {
                self.slots.push(Some(waker.clone()));
                self.slots.len() - 1
            }
        };
        *key = Some(Key {
            epoch: self.epoch,
            index,
        });
    }

    /// Forgets the waker behind `key`; a stale key or `None` is a no-op.
    pub(crate) fn remove(&mut self, key: Option<Key>) {
        if let Some(k) = key
            && k.epoch == self.epoch
            && self.slots[k.index].take().is_some()
        {
            self.free.push(k.index);
        }
    }

    /// Empties the list and returns its wakers, for the caller to wake once it has
    /// released its lock; every key handed out so far goes stale.
    pub(crate) fn take_all(&mut self) -> Vec<Waker> {
        self.epoch += 1;
        self.free.clear();
        mem::take(&mut self.slots).into_iter().flatten().collect()
    }

    /// How many futures are registered.
    #[cfg(all(test, not(eddy_loom)))]
    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

/// A waker that counts its wakes, and its count, for the module tests of the sync types.
#[cfg(all(test, not(eddy_loom)))]
pub(crate) fn counting_waker() -> (std::sync::Arc<tests::Count>, Waker) {
    let count = std::sync::Arc::new(tests::Count(Default::default()));
    (std::sync::Arc::clone(&count), Waker::from(count))
}

#[cfg(all(test, not(eddy_loom)))]
pub(crate) mod tests {
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    use super::{WakerList, counting_waker};
    use crate::loom::sync::atomic::{AtomicUsize, Ordering};

    /// What [`counting_waker`] counts with.
    pub(crate) struct Count(pub(crate) AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn registered_wakers_are_taken_once_and_keys_go_stale() {
        let mut list = WakerList::new();
        let (count, waker) = counting_waker();
        let (mut a, mut b) = (None, None);
        list.register(&mut a, &waker);
        list.register(&mut b, &waker);
        list.register(&mut a, &waker); // A refresh takes no new slot.
        assert_eq!(list.len(), 2);
        list.take_all().into_iter().for_each(Waker::wake);
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
        assert_eq!(list.len(), 0);
        // Stale keys: removing is a no-op, registering takes a fresh slot.
        list.remove(b);
        list.register(&mut a, &waker);
        assert_eq!(list.len(), 1);
        assert!(list.take_all().len() == 1);
    }

    #[test]
    fn removed_slots_are_reused() {
        let mut list = WakerList::new();
        let waker = Waker::noop();
        let mut keys: Vec<_> = (0..4).map(|_| None).collect();
        for key in &mut keys {
            list.register(key, waker);
        }
        for key in keys.drain(..) {
            list.remove(key);
            list.remove(key); // Twice is harmless.
        }
        let mut again = None;
        list.register(&mut again, waker);
        assert_eq!(list.len(), 1);
        assert_eq!(list.slots.len(), 4, "a freed slot was reused");
    }
}
