//! The registry against a `HashMap` model: random registrations, deregistrations and
//! lookups by live, stale and arbitrary tokens. A live token always finds its own record,
//! a stale one never finds anything (in particular not the record now in its slot), no
//! token is issued twice, and a freed slot is reused before the slab grows.
//!
//! Not compiled under Miri (the registry has no unsafe code of its own).

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::RngAlgorithm;

use super::*;

#[derive(Clone, Debug)]
enum Op {
    Register,
    /// Deregisters one of the live records.
    Deregister(Index),
    /// Deregisters again through one of the stale tokens: nothing is freed.
    DeregisterStale(Index),
    /// An event for one of the stale tokens arrives (`get`).
    LookupStale(Index),
    /// A token the registry may never have issued.
    LookupAny(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => Just(Op::Register),
        4 => any::<Index>().prop_map(Op::Deregister),
        2 => any::<Index>().prop_map(Op::DeregisterStale),
        3 => any::<Index>().prop_map(Op::LookupStale),
        1 => prop_oneof![
            // Small tokens: low indices, generation 0 or 1.
            (0usize..16, 0usize..2).prop_map(|(i, g)| (g << INDEX_BITS) | i),
            any::<usize>(),
        ]
        .prop_map(Op::LookupAny),
    ]
}

fn index(token: Token) -> usize {
    token.0 & INDEX_MASK
}

struct Model {
    registry: Registry,
    /// Live records by token.
    live: HashMap<Token, Arc<ScheduledIo>>,
    /// Tokens whose records were deregistered, in order.
    stale: Vec<Token>,
    /// Every token ever issued.
    issued: HashSet<Token>,
    /// Slot indices freed and not yet reused.
    free: HashSet<usize>,
    /// Slots the registry has ever created.
    slots: usize,
}

impl Model {
    fn register(&mut self) -> Result<(), TestCaseError> {
        let io = Arc::new(ScheduledIo::new());
        let token = self.registry.insert(io.clone());
        prop_assert!(token.is_some(), "insert refused below INDEX_MASK records");
        let token = token.unwrap();
        prop_assert_ne!(token, Token::RESERVED);
        prop_assert!(self.issued.insert(token), "token {:?} issued twice", token);
        let i = index(token);
        if self.free.is_empty() {
            prop_assert_eq!(i, self.slots, "a new slot while none was free");
            self.slots += 1;
        } else {
            prop_assert!(
                self.free.remove(&i),
                "slot {} taken while {:?} were free",
                i,
                self.free
            );
        }
        self.live.insert(token, io);
        Ok(())
    }

    fn deregister(&mut self, which: Index) -> Result<(), TestCaseError> {
        if self.live.is_empty() {
            return Ok(());
        }
        let mut tokens: Vec<Token> = self.live.keys().copied().collect();
        tokens.sort_unstable_by_key(|t| t.0);
        let token = tokens[which.index(tokens.len())];
        let want = self.live.remove(&token).unwrap();
        let got = self.registry.remove(token);
        prop_assert!(
            got.as_ref().is_some_and(|io| Arc::ptr_eq(io, &want)),
            "remove({:?}) did not return its own record",
            token
        );
        self.stale.push(token);
        self.free.insert(index(token));
        Ok(())
    }

    fn stale(&self, which: Index) -> Option<Token> {
        (!self.stale.is_empty()).then(|| self.stale[which.index(self.stale.len())])
    }

    fn check(&self) -> Result<(), TestCaseError> {
        prop_assert_eq!(self.registry.len(), self.live.len());
        for (&token, io) in &self.live {
            let got = self.registry.get(token);
            prop_assert!(
                got.is_some_and(|g| Arc::ptr_eq(g, io)),
                "live token {:?} does not find its own record",
                token
            );
        }
        for &token in &self.stale {
            prop_assert!(
                self.registry.get(token).is_none(),
                "stale token {:?} resolves (slot {} now holds {:?})",
                token,
                index(token),
                self.live.keys().find(|t| index(**t) == index(token))
            );
        }
        Ok(())
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut m = Model {
        registry: Registry::default(),
        live: HashMap::new(),
        stale: Vec::new(),
        issued: HashSet::new(),
        free: HashSet::new(),
        slots: 0,
    };
    for op in ops {
        match op {
            Op::Register => m.register()?,
            Op::Deregister(i) => m.deregister(i)?,
            Op::DeregisterStale(i) => {
                if let Some(token) = m.stale(i) {
                    prop_assert!(
                        m.registry.remove(token).is_none(),
                        "stale token {:?} freed a record",
                        token
                    );
                }
            }
            Op::LookupStale(i) => {
                if let Some(token) = m.stale(i) {
                    prop_assert!(
                        m.registry.get(token).is_none(),
                        "stale token {:?} resolves",
                        token
                    );
                }
            }
            Op::LookupAny(t) => {
                let got = m.registry.get(Token(t));
                match m.live.get(&Token(t)) {
                    Some(io) => prop_assert!(got.is_some_and(|g| Arc::ptr_eq(g, io))),
                    None => prop_assert!(got.is_none(), "token {:#x} was never issued live", t),
                }
            }
        }
        m.check()?;
    }
    // Shutdown's drain hands back exactly the live records.
    let mut drained: Vec<Arc<ScheduledIo>> = m.registry.drain().collect();
    prop_assert_eq!(drained.len(), m.live.len(), "drain");
    drained.retain(|io| !m.live.values().any(|l| Arc::ptr_eq(l, io)));
    prop_assert!(
        drained.is_empty(),
        "drain returned records that were not live"
    );
    prop_assert_eq!(m.registry.len(), 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1000,
        // ChaCha, the default generator, is most of the run time in a debug build.
        rng_algorithm: RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    })]

    #[test]
    fn registry_matches_hashmap_model(ops in proptest::collection::vec(op(), 1..100)) {
        run(ops)?;
    }
}
