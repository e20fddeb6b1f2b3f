//! `Registry`: the slab of readiness records, addressed by generation-checked tokens.
//!
//! A token is `generation << INDEX_BITS | index`. A slot's generation increases each time
//! it is freed, so an event carrying the token of a closed resource (epoll can still hold
//! one when a duplicate of the fd was open, and an event already in a `select` buffer
//! outlives any deregistration) finds a different generation and is dropped: it can never
//! wake the slot's next owner.

use eddy_selector::Token;

use super::scheduled_io::ScheduledIo;
use crate::loom::sync::Arc;

/// Low bits of a token: the slot index. 32 bits on 64-bit targets (4 billion resources),
/// 20 on 32-bit ones (a million).
const INDEX_BITS: u32 = if usize::BITS >= 64 { 32 } else { 20 };
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// Generations wrap below this, so no token is ever `Token::RESERVED` (all ones).
const GENERATION_LIMIT: usize = (usize::MAX >> INDEX_BITS) - 1;

#[derive(Default, Debug)]
pub(crate) struct Registry {
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
}

#[derive(Debug)]
struct Slot {
    generation: usize,
    io: Option<Arc<ScheduledIo>>,
}

impl Registry {
    /// Stores a new record and returns its token, or `None` if every index is in use.
    pub(crate) fn insert(&mut self, io: Arc<ScheduledIo>) -> Option<Token> {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                if self.slots.len() > INDEX_MASK {
                    return None;
                }
                self.slots.push(Slot {
                    generation: 0,
                    io: None,
                });
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[index];
        slot.io = Some(io);
        self.live += 1;
        Some(Token(slot.generation << INDEX_BITS | index))
    }

    /// The record for `token`, if it is still the one the token was issued for.
    pub(crate) fn get(&self, token: Token) -> Option<&Arc<ScheduledIo>> {
        let slot = self.slots.get(token.0 & INDEX_MASK)?;
        if slot.generation != token.0 >> INDEX_BITS {
            return None;
        }
        slot.io.as_ref()
    }

    /// Frees `token`'s slot and returns its record; a stale token frees nothing.
    pub(crate) fn remove(&mut self, token: Token) -> Option<Arc<ScheduledIo>> {
        let index = token.0 & INDEX_MASK;
        let slot = self.slots.get_mut(index)?;
        if slot.generation != token.0 >> INDEX_BITS {
            return None;
        }
        let io = slot.io.take()?;
        slot.generation = if slot.generation >= GENERATION_LIMIT {
            0
        } else {
            slot.generation + 1
        };
        self.free.push(index);
        self.live -= 1;
        Some(io)
    }

    /// How many records are registered.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// Every live record, for shutdown.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Arc<ScheduledIo>> + '_ {
        self.live = 0;
        self.free.clear();
        self.slots.drain(..).filter_map(|slot| slot.io)
    }
}

#[cfg(all(test, not(eddy_loom), not(miri)))]
mod proptests;
#[cfg(all(test, not(eddy_loom)))]
mod tests {
    use super::*;

    #[test]
    fn stale_tokens_never_reach_the_next_owner() {
        let mut registry = Registry::default();
        let first = registry.insert(Arc::new(ScheduledIo::new())).unwrap();
        assert!(registry.get(first).is_some());
        assert!(registry.remove(first).is_some());
        let second = registry.insert(Arc::new(ScheduledIo::new())).unwrap();
        assert_eq!(
            first.0 & INDEX_MASK,
            second.0 & INDEX_MASK,
            "the slot is reused"
        );
        assert_ne!(first, second);
        assert!(registry.get(first).is_none(), "the old token is stale");
        assert!(
            registry.remove(first).is_none(),
            "and cannot free the new owner"
        );
        assert!(registry.get(second).is_some());
        assert_eq!(registry.len(), 1);
    }

    #[test]
    fn generations_wrap_without_reaching_the_reserved_token() {
        let mut registry = Registry::default();
        let token = registry.insert(Arc::new(ScheduledIo::new())).unwrap();
        registry.remove(token);
        registry.slots[0].generation = GENERATION_LIMIT;
        let token = registry.insert(Arc::new(ScheduledIo::new())).unwrap();
        assert_ne!(token, Token::RESERVED);
        assert!(registry.remove(token).is_some());
        assert_eq!(registry.slots[0].generation, 0);
    }

    #[test]
    fn unknown_tokens_are_ignored() {
        let registry = Registry::default();
        assert!(registry.get(Token(12345)).is_none());
        assert!(registry.get(Token::RESERVED).is_none());
    }
}
