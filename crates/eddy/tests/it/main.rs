//! Public-API tests for the eddy facade.

mod asyncio_tasks;
mod bad_input;
mod debug;
mod deterministic;
mod echo;
mod future;
mod join_set_model;
mod lifecycle;
mod main_task;
mod net_peers;
mod process;
mod runtime;
mod shutdown;
mod signal;
mod stdio;
mod support;
mod sync;
mod task_hook;
mod tasks;
mod waits;
