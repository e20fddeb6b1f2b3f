//! A tour of eddy through asyncio's concepts, each step a headline and a real run.
//!
//! ```text
//! cargo run --release -p eddy --example tour
//! ```

#[path = "concepts/mod.rs"]
mod concepts;

fn step(title: &str) {
    println!("\n== {title}");
}

fn main() {
    println!("eddy: asyncio's ideas on a Rust runtime built from the system calls up");
    eddy::run(async {
        step("2.2 await sleep: a coroutine pauses, the loop runs on");
        concepts::hello_sleep().await;
        step("2.3 tasks: three 1-second sleeps run concurrently");
        concepts::tasks().await;
        step("2.4 cancelling a task");
        concepts::cancel().await;
        step("2.4 timeouts (asyncio.wait_for)");
        concepts::timeout().await;
        step("2.5 futures: set_result(42), then await it");
        concepts::future().await;
        step("2.6 measuring execution time");
        concepts::timed().await;
        step("2.7 pitfalls: blocking work goes to spawn_blocking");
        concepts::pitfalls().await;
        step("chapter 1: one thread, a thousand sockets");
        concepts::echo_exchange(1000).await;
    });
    step("2.8 the loop by hand");
    concepts::manual_loop();
    step("2.7 + 2.9 a CPU-bound loop on the event loop, caught by debug mode");
    concepts::blocking(true);
    step("2.9 debug mode: slow polls, the task dump, metrics, lost wakes");
    concepts::debug_mode();
    println!("\ndone: see docs/asyncio-guide.md for each concept in depth");
}
