//! TCP: echo under load, half-close, reset, refused, back-pressure, halves, options.

use std::cell::Cell;
use std::io::{self, ErrorKind};
use std::net::Shutdown;
use std::rc::Rc;
use std::time::Duration;

use eddy_net::{TcpListener, TcpStream};
use futures_util::io::AsyncReadExt;

use crate::support::{Rng, block_on, checksum, spawn};

/// Serves echo on `listener` for `connections` connections, then returns.
async fn echo_server(listener: TcpListener, connections: usize) {
    for _ in 0..connections {
        let (mut stream, _) = listener.accept().await.expect("accept");
        spawn(async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = stream.read(&mut buf).await.expect("server read");
                if n == 0 {
                    break;
                }
                stream.write_all(&buf[..n]).await.expect("server write");
            }
        });
    }
}

/// The load test: 1,000 concurrent connections, each sending a random-sized
/// payload (up to 1 MiB) and checking the checksum of what comes back.
#[test]
fn echo_1000_connections_checksummed() {
    const CONNECTIONS: usize = 1000;
    let total = block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        spawn(echo_server(listener, CONNECTIONS));
        let clients = (0..CONNECTIONS).map(|c| async move {
            let mut rng = Rng::new(c as u64);
            // Mostly small, some large: every hundredth up to 1 MiB.
            let len = if c % 100 == 0 {
                1 + rng.below(1 << 20) as usize
            } else {
                1 + rng.below(16 * 1024) as usize
            };
            let payload = rng.bytes(len);
            let stream = TcpStream::connect(addr).await.expect("connect");
            let (mut reader, mut writer) = stream.into_split();
            let expected = checksum(&payload);
            // Write and read at once, so a payload larger than the socket buffers cannot
            // deadlock against the echo.
            let write = async move {
                writer.write_all(&payload).await.expect("client write");
                writer.shutdown().expect("shutdown");
            };
            let read = async move {
                let mut back = Vec::with_capacity(len);
                reader.read_to_end(&mut back).await.expect("client read");
                back
            };
            let ((), back) = futures_util::future::join(write, read).await;
            assert_eq!(back.len(), len, "connection {c}: length");
            assert_eq!(checksum(&back), expected, "connection {c}: checksum");
            len
        });
        futures_util::future::join_all(clients)
            .await
            .into_iter()
            .sum::<usize>()
    });
    assert!(total > CONNECTIONS);
}

#[test]
fn half_close_reads_eof_and_still_writes_back() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        client.write_all(b"question").await.unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"question");
        server.write_all(b"answer").await.unwrap();
        drop(server);
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, b"answer");
    });
}

#[test]
fn peer_reset_is_connection_reset() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        server.set_linger(Some(Duration::ZERO)).unwrap();
        drop(server);
        let mut buf = [0u8; 16];
        let err = client.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    });
}

#[test]
fn writing_to_a_reset_peer_errors_instead_of_killing_the_process() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        server.set_linger(Some(Duration::ZERO)).unwrap();
        drop(server);
        client.readable().await.unwrap();
        let chunk = [0u8; 1024];
        let mut failure = None;
        for _ in 0..100 {
            if let Err(e) = client.write(&chunk).await {
                failure = Some(e);
                break;
            }
        }
        let err = failure.expect("writes to a reset peer fail");
        assert!(
            matches!(
                err.kind(),
                ErrorKind::BrokenPipe | ErrorKind::ConnectionReset
            ),
            "{err}"
        );
    });
}

#[test]
fn connect_refused_is_connection_refused() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    });
}

#[test]
fn full_socket_waits_then_resumes_when_the_peer_reads() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        let (mut reader, mut writer) = client.into_split();
        const TOTAL: usize = 16 << 20; // far more than loopback's socket buffers
        let written = Rc::new(Cell::new(0usize));
        let w = Rc::clone(&written);
        spawn(async move {
            let chunk = vec![0x5a; 256 * 1024];
            let mut sent = 0;
            while sent < TOTAL {
                let n = writer
                    .write(&chunk[..chunk.len().min(TOTAL - sent)])
                    .await
                    .unwrap();
                sent += n;
                w.set(sent);
            }
            writer.shutdown().unwrap();
        });
        // Let the writer fill the buffers: it must stop (pending), not spin or fail.
        for _ in 0..50 {
            futures_util::future::ready(()).await;
            crate::support::yield_now().await;
        }
        let stalled = written.get();
        assert!(
            stalled < TOTAL,
            "the writer should be waiting on a full socket"
        );
        // Draining the peer lets every byte through.
        let mut got = 0usize;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = server.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            assert!(buf[..n].iter().all(|&b| b == 0x5a));
            got += n;
        }
        assert_eq!(got, TOTAL);
        assert_eq!(written.get(), TOTAL);
        drop(reader.read(&mut [0u8; 1]));
    });
}

#[test]
fn many_tasks_wait_on_one_socket() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let server = Rc::new(server);
        let woken = Rc::new(Cell::new(0));
        for _ in 0..100 {
            let (server, woken) = (Rc::clone(&server), Rc::clone(&woken));
            spawn(async move {
                server.readable().await.unwrap();
                woken.set(woken.get() + 1);
            });
        }
        for _ in 0..10 {
            crate::support::yield_now().await;
        }
        assert_eq!(woken.get(), 0, "nothing is readable yet");
        client.write_all(b"!").await.unwrap();
        while woken.get() < 100 {
            crate::support::yield_now().await;
        }
        let mut buf = [0u8; 1];
        assert_eq!(server.peek(&mut buf).await.unwrap(), 1);
    });
}

#[test]
fn borrowed_halves_read_and_write_concurrently() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        spawn(async move {
            let (mut r, mut w) = (&server, &server);
            futures_util::io::copy(&mut r, &mut w).await.unwrap();
        });
        let (mut reader, mut writer) = TcpStream::split(&mut client);
        let payload = Rng::new(7).bytes(300_000);
        let send = async {
            writer.write_all(&payload).await.unwrap();
            writer.shutdown().unwrap();
        };
        let mut back = Vec::new();
        let recv = reader.read_to_end(&mut back);
        let ((), n) = futures_util::future::join(send, recv).await;
        assert_eq!(n.unwrap(), payload.len());
        assert!(back == payload);
    });
}

#[test]
fn owned_halves_reunite_only_with_their_own_stream() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let b = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (ar, aw) = a.into_split();
        let (br, bw) = b.into_split();
        let err = ar.reunite(bw).unwrap_err();
        let (ar, bw) = (err.0, err.1);
        let a = ar.reunite(aw).unwrap();
        let b = br.reunite(bw).unwrap();
        assert_ne!(a.local_addr().unwrap(), b.local_addr().unwrap());
    });
}

#[test]
fn socket_options_round_trip() {
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.set_ttl(42).unwrap();
        assert_eq!(listener.ttl().unwrap(), 42);
        let stream = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        stream.set_nodelay(true).unwrap();
        assert!(stream.nodelay().unwrap());
        stream.set_keepalive(true).unwrap();
        assert!(stream.keepalive().unwrap());
        stream.set_keepalive(false).unwrap();
        assert!(!stream.keepalive().unwrap());
        stream.set_ttl(17).unwrap();
        assert_eq!(stream.ttl().unwrap(), 17);
        assert!(stream.take_error().unwrap().is_none());
        assert_eq!(stream.peer_addr().unwrap(), listener.local_addr().unwrap());
    });
}

#[test]
fn std_conversions_keep_the_connection() {
    block_on(async {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let listener = TcpListener::from_std(std_listener).unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut std_client = client.into_std().unwrap();
        std_client.set_nonblocking(false).unwrap();
        io::Write::write_all(&mut std_client, b"via std").unwrap();
        let mut server = server;
        let mut buf = [0u8; 7];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"via std");
        let back = TcpStream::from_std(std_client).unwrap();
        assert_eq!(back.peer_addr().unwrap(), listener.local_addr().unwrap());
        assert!(listener.into_std().is_ok());
    });
}

#[test]
fn names_are_resolved_off_the_reactor_thread() {
    block_on(async {
        let listener = TcpListener::bind("localhost:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let stream = TcpStream::connect(("localhost", port)).await.unwrap();
        assert!(stream.peer_addr().unwrap().ip().is_loopback());
        let addrs = eddy_net::lookup_host("localhost:80").await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
        let err = eddy_net::lookup_host("no-such-host.invalid:80")
            .await
            .unwrap_err();
        assert_ne!(err.kind(), ErrorKind::Other, "{err}");
    });
}

#[test]
fn incoming_is_a_stream_of_connections() {
    use futures_util::StreamExt;
    block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        for _ in 0..3 {
            spawn(async move {
                let mut s = TcpStream::connect(addr).await.unwrap();
                s.write_all(b"x").await.unwrap();
            });
        }
        let accepted: Vec<_> = listener.incoming().take(3).collect().await;
        assert_eq!(accepted.len(), 3);
        assert!(accepted.iter().all(Result::is_ok));
    });
}
