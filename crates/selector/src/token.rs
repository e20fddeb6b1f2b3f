//! `Token`: the caller's name for a registration, handed back with each of its events.

/// Identifies a registration: the selector returns it with every event for that fd.
///
/// The value is the caller's to choose (eddy's reactor packs a slab index and a generation
/// into it), except [`Token::RESERVED`], which the selector keeps for its [`Notifier`]:
/// registering with it fails with [`std::io::ErrorKind::InvalidInput`].
///
/// [`Notifier`]: crate::Notifier
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub usize);

impl Token {
    /// The one token callers may not register: the selector's own notifier uses it.
    pub const RESERVED: Token = Token(usize::MAX);
}

impl From<Token> for usize {
    fn from(token: Token) -> usize {
        token.0
    }
}
