//! Unix-domain stream and datagram sockets.

use eddy_net::{UnixDatagram, UnixListener, UnixStream};
use futures_util::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use crate::support::{block_on, spawn};

fn temp_path(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("eddy-net-{}-{name}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

#[test]
fn stream_round_trip_through_a_path() {
    let path = temp_path("stream");
    block_on(async {
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut lines = BufReader::new(stream).lines();
            let mut n = 0;
            while let Some(line) = futures_util::StreamExt::next(&mut lines).await {
                assert_eq!(line.unwrap(), format!("line {n}"));
                n += 1;
            }
            assert_eq!(n, 100);
        });
        let mut client = UnixStream::connect(&path).await.unwrap();
        for n in 0..100 {
            client
                .write_all(format!("line {n}\n").as_bytes())
                .await
                .unwrap();
        }
        client.close().await.unwrap();
    });
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn connecting_to_nothing_is_an_error() {
    block_on(async {
        let err = UnixStream::connect(temp_path("absent")).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    });
}

#[test]
fn pair_echo_and_closed_peer_gives_broken_pipe() {
    block_on(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"hello").await.unwrap();
        let mut buf = [0u8; 5];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hello");
        drop(b);
        // No SIGPIPE: the write fails and the test process lives on.
        let err = a.write_all(&[0u8; 4096]).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
        let mut rest = Vec::new();
        assert_eq!(a.read_to_end(&mut rest).await.unwrap(), 0);
    });
}

#[test]
fn datagram_round_trips() {
    let (pa, pb) = (temp_path("dgram-a"), temp_path("dgram-b"));
    block_on(async {
        let a = UnixDatagram::bind(&pa).unwrap();
        let b = UnixDatagram::bind(&pb).unwrap();
        a.send_to(b"to b", &pb).await.unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"to b");
        assert_eq!(from.as_pathname(), Some(pa.as_path()));
        b.connect(&pa).unwrap();
        b.send(b"to a").await.unwrap();
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"to a");

        let (x, y) = UnixDatagram::pair().unwrap();
        for i in 0..100u32 {
            x.send(&i.to_le_bytes()).await.unwrap();
            let n = y.recv(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &i.to_le_bytes());
        }
        assert!(
            UnixDatagram::unbound()
                .unwrap()
                .local_addr()
                .unwrap()
                .is_unnamed()
        );
    });
    std::fs::remove_file(&pa).unwrap();
    std::fs::remove_file(&pb).unwrap();
}
