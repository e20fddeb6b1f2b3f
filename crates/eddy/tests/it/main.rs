//! Public-API tests for the eddy facade.

mod echo;
mod future;
mod runtime;
mod signal;
mod sync;
mod tasks;
