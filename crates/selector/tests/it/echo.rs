//! The selector-only echo server of `examples/echo.rs`, driven by real clients.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use eddy_selector::Selector;

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/echo.rs"]
mod example;

/// Many clients at once, each sending more than a socket buffer holds, so the server's
/// partial-write and resume-reading paths both run.
#[test]
#[cfg_attr(miri, ignore = "Miri emulates no TCP or UDP sockets (socket(2))")]
fn echo_example_returns_every_byte() {
    const CLIENTS: usize = 16;
    const BYTES: usize = 512 * 1024;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let selector = Selector::new().unwrap();
    let notifier = selector.notifier();
    let stop = AtomicBool::new(false);
    let stats = thread::scope(|s| {
        let server = s.spawn(|| example::serve(&selector, &listener, &stop).unwrap());
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                s.spawn(move || {
                    let payload: Vec<u8> = (0..BYTES).map(|i| (i * 31 + c) as u8).collect();
                    let mut stream = TcpStream::connect(addr).unwrap();
                    let mut reader = stream.try_clone().unwrap();
                    let expected = payload.clone();
                    let reading = thread::spawn(move || {
                        let mut got = Vec::with_capacity(BYTES);
                        reader.read_to_end(&mut got).unwrap();
                        got
                    });
                    stream.write_all(&payload).unwrap();
                    stream.shutdown(std::net::Shutdown::Write).unwrap();
                    assert!(
                        reading.join().unwrap() == expected,
                        "client {c} got different bytes back"
                    );
                })
            })
            .collect();
        for client in clients {
            client.join().unwrap();
        }
        stop.store(true, Ordering::Release);
        notifier.notify().unwrap();
        server.join().unwrap()
    });
    assert_eq!(stats.accepted, CLIENTS);
    assert_eq!(stats.echoed, CLIENTS * BYTES);
}
