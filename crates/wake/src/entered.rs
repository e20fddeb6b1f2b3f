//! A thread's stack of entered handles, for the crates' `Handle::enter` guards.

/// The handles entered on one thread (a runtime's, a reactor's, a timer driver's),
/// innermost last, each numbered by the guard that entered it. Guards may drop in any
/// order: each takes out its own entry, so the innermost guard still alive decides what is
/// current. Each crate keeps one in a thread-local of its own.
#[derive(Debug)]
pub struct EnteredStack<T> {
    entries: Vec<(u64, T)>,
    /// The next entry's number; 0 is never handed out (a guard made when the thread-local
    /// was gone holds it, and removing it does nothing).
    next: u64,
}

impl<T: Clone> EnteredStack<T> {
    /// An empty stack.
    pub const fn new() -> EnteredStack<T> {
        EnteredStack {
            entries: Vec::new(),
            next: 1,
        }
    }

    /// Enters `value`; returns the entry's number, for [`remove`](Self::remove).
    pub fn push(&mut self, value: T) -> u64 {
        let entry = self.next;
        self.next += 1;
        self.entries.push((entry, value));
        entry
    }

    /// Ends the scope numbered `entry`, wherever it is in the stack.
    pub fn remove(&mut self, entry: u64) {
        if let Some(i) = self.entries.iter().rposition(|(e, _)| *e == entry) {
            self.entries.remove(i);
        }
    }

    /// The innermost entered value.
    pub fn current(&self) -> Option<T> {
        self.entries.last().map(|(_, v)| v.clone())
    }
}

impl<T: Clone> Default for EnteredStack<T> {
    fn default() -> Self {
        EnteredStack::new()
    }
}

#[cfg(test)]
mod tests {
    use super::EnteredStack;

    #[test]
    fn out_of_order_removal_keeps_the_live_entry_current() {
        let mut stack = EnteredStack::new();
        let a = stack.push('a');
        let b = stack.push('b');
        stack.remove(a);
        assert_eq!(stack.current(), Some('b'));
        stack.remove(0);
        stack.remove(a);
        assert_eq!(stack.current(), Some('b'));
        stack.remove(b);
        assert_eq!(stack.current(), None);
    }
}
