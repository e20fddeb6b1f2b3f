//! Which workers sleep, and the protocol that wakes one whenever work appears so no wake-up
//! is lost.
//!
//! # Protocol
//!
//! - `num_searching` counts workers looking for work to steal; `sleepers` lists workers
//!   that are parked (or about to park), `num_sleeping` is its length.
//! - A producer (a spawn, a wake, an overflow) first publishes the task (queue push), then
//!   issues a SeqCst fence and reads the counters: if a worker is searching it will find
//!   the task, else if one sleeps the producer pops it from `sleepers` and unparks it.
//! - A worker going to sleep stops searching (decrement), adds itself to `sleepers`, issues
//!   a SeqCst fence, and looks at every queue once more. If it finds work it takes itself
//!   off `sleepers` (or, if a producer already popped it, accepts that wake) and runs.
//! - The two fences order the producer's push before the sleeper's re-check or the
//!   sleeper's registration before the producer's counter reads: either the sleeper sees
//!   the task or the producer sees the sleeper (the Dekker pattern).
//! - A searcher that finds work while it is the last searcher wakes one more worker, since
//!   producers may have skipped waking anyone because it was searching.
//! - At most half the workers search at once (`try_search`), to bound contention on
//!   victims' queues.

use crate::loom::sync::Mutex;
use crate::loom::sync::atomic::AtomicUsize;
use crate::loom::sync::atomic::Ordering::SeqCst;
use crate::loom::sync::atomic::fence;
use crate::loom::sync::lock;

pub(crate) struct Idle {
    sleepers: Mutex<Vec<usize>>,
    num_sleeping: AtomicUsize,
    num_searching: AtomicUsize,
    num_workers: usize,
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        Idle {
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_sleeping: AtomicUsize::new(0),
            num_searching: AtomicUsize::new(0),
            num_workers,
        }
    }

    /// Producer side: after publishing work, returns a sleeping worker to unpark, if one
    /// must be woken.
    ///
    /// Inlined into every wake and spawn: with every worker busy (the common case under
    /// load) it is the fence and two loads; popping a sleeper is out of line.
    #[inline]
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        // SeqCst fence: pairs with the fence in `fence_before_recheck` (module doc).
        fence(SeqCst);
        // SeqCst: these loads follow the fence above in the protocol's total order (module doc).
        if self.num_searching.load(SeqCst) > 0 || self.num_sleeping.load(SeqCst) == 0 {
            return None;
        }
        self.pop_sleeper()
    }

    /// The rest of `worker_to_notify`, once it saw a sleeper and no searcher.
    #[cold]
    #[inline(never)]
    fn pop_sleeper(&self) -> Option<usize> {
        let mut sleepers = lock(&self.sleepers);
        let id = sleepers.pop()?;
        // SeqCst: counters take part in the protocol's total order (module doc).
        self.num_sleeping.fetch_sub(1, SeqCst);
        // The woken worker starts out searching, so a burst of producers wakes one worker,
        // not one each.
        self.num_searching.fetch_add(1, SeqCst);
        Some(id)
    }

    /// A worker starts searching; `false` when enough already are.
    pub(crate) fn try_search(&self) -> bool {
        // SeqCst: counters take part in the protocol's total order (module doc).
        let n = self.num_searching.load(SeqCst);
        if 2 * n >= self.num_workers.max(2) {
            return false;
        }
        // SeqCst: counters take part in the protocol's total order (module doc).
        self.num_searching.fetch_add(1, SeqCst);
        true
    }

    /// A searcher stops. Returns `true` when it was the last one (the caller, having found
    /// work, should then wake another worker).
    pub(crate) fn stop_searching(&self) -> bool {
        // SeqCst: pairs with producers' loads after their fence (module doc).
        self.num_searching.fetch_sub(1, SeqCst) == 1
    }

    /// The worker registers as a sleeper; the caller must then call `fence_before_recheck`
    /// and look at the queues once more before parking.
    pub(crate) fn register_sleeper(&self, id: usize) {
        let mut sleepers = lock(&self.sleepers);
        sleepers.push(id);
        // SeqCst: precedes the sleeper's fence; pairs with producers' loads after theirs.
        self.num_sleeping.fetch_add(1, SeqCst);
    }

    pub(crate) fn fence_before_recheck(&self) {
        // SeqCst fence: pairs with the fence in `worker_to_notify` (module doc).
        fence(SeqCst);
    }

    /// Takes `id` off the sleepers if it is still there. `false` when a producer already
    /// popped it (and counted it as searching): the caller is then searching.
    pub(crate) fn unregister_sleeper(&self, id: usize) -> bool {
        let mut sleepers = lock(&self.sleepers);
        if let Some(pos) = sleepers.iter().position(|&w| w == id) {
            sleepers.swap_remove(pos);
            // SeqCst: counters take part in the protocol's total order (module doc).
            self.num_sleeping.fetch_sub(1, SeqCst);
            true
        } else {
            false
        }
    }
}
