//! Combinators over several futures: `join_all` (asyncio.gather) and `race`.
