//! Signals as futures: `ctrl_c()` for graceful shutdown.
