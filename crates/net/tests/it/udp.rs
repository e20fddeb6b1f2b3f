//! UDP on loopback.

use std::rc::Rc;

use eddy_net::UdpSocket;

use crate::support::{block_on, spawn};

/// Loopback does not drop datagrams under this load, so every ping gets its pong.
#[test]
fn ping_pong_loses_nothing_on_loopback() {
    const ROUNDS: u32 = 2000;
    block_on(async {
        let server = Rc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        client.connect(server.local_addr().unwrap()).await.unwrap();
        assert_eq!(client.peer_addr().unwrap(), server.local_addr().unwrap());
        let echo = Rc::clone(&server);
        spawn(async move {
            let mut buf = [0u8; 64];
            for _ in 0..ROUNDS {
                let (n, from) = echo.recv_from(&mut buf).await.unwrap();
                echo.send_to(&buf[..n], from).await.unwrap();
            }
        });
        let mut buf = [0u8; 64];
        for i in 0..ROUNDS {
            client.send(&i.to_le_bytes()).await.unwrap();
            let n = client.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &i.to_le_bytes(), "round {i}");
        }
    });
}

#[test]
fn peek_leaves_the_datagram_and_options_round_trip() {
    block_on(async {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.send_to(b"peeked", b.local_addr().unwrap()).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"peeked"[..], a.local_addr().unwrap()));
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"peeked");
        b.set_broadcast(true).unwrap();
        assert!(b.broadcast().unwrap());
        b.set_ttl(9).unwrap();
        assert_eq!(b.ttl().unwrap(), 9);
        b.set_multicast_loop_v4(false).unwrap();
        assert!(!b.multicast_loop_v4().unwrap());
        assert_eq!(
            b.peer_addr().unwrap_err().kind(),
            std::io::ErrorKind::NotConnected
        );
        assert!(b.into_std().is_ok());
    });
}
