//! Watch readiness events arrive: a pipe, a TCP connection on loopback and the notifier,
//! all waited on by one `Selector`, with each event printed as it comes.
//!
//! ```text
//! cargo run -p eddy-selector --example readiness
//! ```

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::thread;
use std::time::{Duration, Instant};

use eddy_selector::{Events, Interest, Selector, Token};

const PIPE: Token = Token(1);
const LISTENER: Token = Token(2);
const CONN: Token = Token(3);

fn main() -> io::Result<()> {
    let selector = Selector::new()?;
    let (mut pipe_reader, mut pipe_writer) = io::pipe()?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    selector.register(pipe_reader.as_raw_fd(), PIPE, Interest::READABLE)?;
    selector.register(listener.as_raw_fd(), LISTENER, Interest::READABLE)?;
    println!("selector ready: a pipe, and a TCP listener on {addr}");

    // Another thread makes things happen, a little apart so each event stands alone.
    let notifier = selector.notifier();
    let actor = thread::spawn(move || -> io::Result<()> {
        let pause = || thread::sleep(Duration::from_millis(100));
        pause();
        pipe_writer.write_all(b"hello through a pipe")?;
        pause();
        let mut client = TcpStream::connect(addr)?;
        pause();
        client.write_all(b"hello over TCP")?;
        pause();
        drop(client);
        pause();
        notifier.notify()?;
        Ok(())
    });

    let started = Instant::now();
    let mut events = Events::with_capacity(16);
    let mut conn: Option<TcpStream> = None;
    let mut buf = [0u8; 256];
    loop {
        selector.select(&mut events, Some(Duration::from_secs(5)))?;
        let at = started.elapsed();
        if events.is_notified() {
            println!("{at:>10.1?}  notifier woke the selector from another thread: done");
            break;
        }
        if events.is_empty() {
            println!("{at:>10.1?}  timed out with nothing ready");
            break;
        }
        for event in &events {
            println!("{at:>10.1?}  {event:?}");
            match event.token() {
                PIPE => {
                    let n = pipe_reader.read(&mut buf)?;
                    println!(
                        "            pipe: read {:?}",
                        String::from_utf8_lossy(&buf[..n])
                    );
                }
                LISTENER => {
                    let (stream, peer) = listener.accept()?;
                    stream.set_nonblocking(true)?;
                    selector.register(stream.as_raw_fd(), CONN, Interest::READABLE)?;
                    println!("            listener: accepted {peer}");
                    conn = Some(stream);
                }
                CONN => {
                    let stream = conn.as_mut().expect("registered after accept");
                    // Edge-triggered: read until the kernel says WouldBlock (or the end).
                    loop {
                        match stream.read(&mut buf) {
                            Ok(0) => {
                                println!("            conn: end of stream, deregistering");
                                selector.deregister(stream.as_raw_fd())?;
                                break;
                            }
                            Ok(n) => println!(
                                "            conn: read {:?}",
                                String::from_utf8_lossy(&buf[..n])
                            ),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => return Err(e),
                        }
                    }
                }
                other => unreachable!("no fd was registered with {other:?}"),
            }
        }
    }
    actor.join().expect("the actor thread does not panic")?;
    Ok(())
}
