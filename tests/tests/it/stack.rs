//! The whole stack without the facade: eddy-executor's schedulers parked in a driver made
//! of eddy-net's reactor and eddy-timer's driver, serving sockets and timers together.
//!
//! This is the seam the runtime facade wires up; testing it here shows each crate keeps its
//! side of the contract (`Park`/`Unpark`, wakers, the timer's unpark callback) with the
//! others, on one thread and on two workers.

use std::time::{Duration, Instant};

use eddy_executor::{CurrentThread, MultiThread, Park, Unpark};
use eddy_net::{Reactor, TcpListener, TcpStream};
use futures_util::io::AsyncReadExt;

/// The reactor and the timers behind the executor's park seam: sleep until the earliest
/// timer or an I/O event, then fire what is due.
struct Driver {
    reactor: Reactor,
    timers: eddy_timer::Driver,
}

struct Waker(eddy_net::Handle);

impl Unpark for Waker {
    fn unpark(&self) {
        self.0.unpark();
    }
}

impl Driver {
    fn new() -> Driver {
        let reactor = Reactor::new().expect("reactor");
        let timers = eddy_timer::Driver::new();
        let unpark = reactor.handle();
        // A timer registered from another thread that becomes the earliest must cut the
        // driver's sleep short; the timer driver decides when that is needed.
        timers.set_unpark(move || unpark.unpark());
        Driver { reactor, timers }
    }

    fn turn(&mut self, limit: Option<Duration>) {
        let timeout = match (self.timers.next_timeout(), limit) {
            (Some(t), Some(l)) => Some(t.min(l)),
            (t, l) => t.or(l),
        };
        self.reactor.turn(timeout).expect("reactor turn");
        self.timers.process();
    }
}

impl Park for Driver {
    type Unpark = Waker;

    fn unpark(&self) -> Waker {
        Waker(self.reactor.handle())
    }

    fn park(&mut self) {
        self.turn(None);
    }

    fn park_timeout(&mut self, timeout: Duration) {
        self.turn(Some(timeout));
    }
}

fn payload(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ seed) as u8)
        .collect()
}

/// Echo with timers in the loop: every client sleeps a little before it writes, so the
/// driver has timers and sockets to serve in the same turns.
async fn echo_round(
    clients: usize,
    spawn: impl Fn(std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>),
    connect: impl AsyncFn(std::net::SocketAddr) -> TcpStream,
    timers: &eddy_timer::Handle,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    spawn(Box::pin(async move {
        for _ in 0..clients {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            // One connection at a time is enough here: the clients are concurrent.
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                stream.write_all(&buf[..n]).await.unwrap();
            }
        }
    }));
    for c in 0..clients {
        let mut stream = connect(addr).await;
        let data = payload(c, 1000 + c * 37);
        let wait = eddy_timer::Sleep::new_in(
            Some(timers.clone()),
            Instant::now() + Duration::from_millis(1),
        );
        wait.await;
        stream.write_all(&data).await.unwrap();
        stream.shutdown(std::net::Shutdown::Write).unwrap();
        let mut back = Vec::new();
        stream.read_to_end(&mut back).await.unwrap();
        assert!(back == data, "client {c} got other bytes back");
    }
}

#[test]
fn sockets_and_timers_on_the_current_thread_scheduler() {
    let driver = Driver::new();
    let (net, timers) = (driver.reactor.handle(), driver.timers.handle());
    let _net = net.enter();
    let _timers = timers.enter();
    let rt = CurrentThread::with_driver(driver);
    let handle = rt.handle();
    let started = Instant::now();
    rt.block_on(async {
        let spawn = |f| drop(handle.spawn(f));
        echo_round(
            50,
            spawn,
            async |addr| TcpStream::connect(addr).await.unwrap(),
            &timers,
        )
        .await;
        // A plain sleep parks the whole thread in the reactor until the timer fires.
        eddy_timer::sleep(Duration::from_millis(20)).await;
    });
    assert!(started.elapsed() >= Duration::from_millis(20 + 50));
}

#[test]
fn sockets_and_timers_on_two_workers() {
    let driver = Driver::new();
    let (net, timers) = (driver.reactor.handle(), driver.timers.handle());
    let _net = net.enter();
    let _timers = timers.enter();
    let rt = MultiThread::with_driver(2, driver);
    let handle = rt.handle();
    rt.block_on(async {
        let spawn = |f| drop(handle.spawn(f));
        echo_round(
            50,
            spawn,
            async |addr| TcpStream::connect(addr).await.unwrap(),
            &timers,
        )
        .await;
        // Timers fire on a worker's turn of the driver and wake this (non-worker) thread.
        let mut sleeps = Vec::new();
        for i in 0..100u64 {
            let timers = timers.clone();
            sleeps.push(handle.spawn(async move {
                let deadline = Instant::now() + Duration::from_millis(i % 10);
                eddy_timer::Sleep::new_in(Some(timers), deadline).await;
                assert!(Instant::now() >= deadline, "a timer fired early");
            }));
        }
        for sleep in sleeps {
            sleep.await.unwrap();
        }
    });
}
