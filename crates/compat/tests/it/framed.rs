//! tokio-util's `Framed` with `LinesCodec` over eddy's TCP and Unix streams, through
//! `TokioIo`: a line echo server and client, both on eddy, and the codec's own errors.

use eddy::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use eddy_compat::TokioIo;
use futures_util::{SinkExt, StreamExt};
use tokio_util::codec::{Framed, LinesCodec, LinesCodecError};

use super::each_runtime;

const LINES: usize = 2_000;

/// Lines the client sends before it reads the first answer: few enough that neither
/// side's socket buffers can fill up while the other is not reading.
const AHEAD: usize = 64;

/// Line `i`: ASCII, multi-byte UTF-8 and an empty line now and then.
fn line(i: usize) -> String {
    match i % 3 {
        0 => format!("line {i}"),
        1 => format!("zeile {i} – größer, ĉiu ☃"),
        _ if i.is_multiple_of(7) => String::new(),
        _ => "x".repeat(i % 500),
    }
}

/// Answers each line with `echo: ` and the line, until the peer closes.
async fn echo<T>(stream: T)
where
    T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let mut framed = Framed::new(TokioIo::new(stream), LinesCodec::new());
    while let Some(line) = framed.next().await {
        framed
            .send(format!("echo: {}", line.unwrap()))
            .await
            .unwrap();
    }
}

/// Sends every line, keeping [`AHEAD`] of them in flight, and checks each answer.
async fn client<T>(stream: T)
where
    T: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    let mut framed = Framed::new(TokioIo::new(stream), LinesCodec::new());
    for i in 0..AHEAD {
        framed.feed(line(i)).await.unwrap();
    }
    SinkExt::<String>::flush(&mut framed).await.unwrap();
    for i in 0..LINES {
        if i + AHEAD < LINES {
            framed.send(line(i + AHEAD)).await.unwrap();
        }
        let got = framed.next().await.expect("an answer per line").unwrap();
        assert_eq!(got, format!("echo: {}", line(i)), "line {i}");
    }
    // Closing our write half ends the server's loop, which then closes its side.
    SinkExt::<String>::close(&mut framed).await.unwrap();
    assert!(
        framed.next().await.is_none(),
        "the server closed after our close"
    );
}

#[test]
fn lines_over_tcp() {
    each_runtime(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = eddy::spawn(async move { echo(listener.accept().await.unwrap().0).await });
        client(TcpStream::connect(addr).await.unwrap()).await;
        server.await.unwrap();
    });
}

#[test]
fn lines_over_unix() {
    each_runtime(|| async {
        let dir = std::env::temp_dir().join(format!(
            "eddy-compat-framed-{}-{:?}",
            std::process::id(),
            eddy::task::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sock");
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).unwrap();
        let server = eddy::spawn(async move { echo(listener.accept().await.unwrap().0).await });
        client(UnixStream::connect(&path).await.unwrap()).await;
        server.await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn codec_errors_surface() {
    each_runtime(|| async {
        let (a, b) = UnixStream::pair().unwrap();
        let mut writer = Framed::new(TokioIo::new(a), LinesCodec::new());
        let mut reader = Framed::new(TokioIo::new(b), LinesCodec::new_with_max_length(16));
        writer.send("short").await.unwrap();
        writer
            .send("a line far longer than sixteen bytes")
            .await
            .unwrap();
        assert_eq!(reader.next().await.unwrap().unwrap(), "short");
        match reader.next().await {
            Some(Err(LinesCodecError::MaxLineLengthExceeded)) => {}
            other => panic!("expected MaxLineLengthExceeded, got {other:?}"),
        }
        // Invalid UTF-8 is an I/O error of kind InvalidData from the codec.
        let (mut a, b) = UnixStream::pair().unwrap();
        futures_util::AsyncWriteExt::write_all(&mut a, b"\xff\xfe\n")
            .await
            .unwrap();
        let mut reader = Framed::new(TokioIo::new(b), LinesCodec::new());
        match reader.next().await {
            Some(Err(LinesCodecError::Io(e))) => {
                assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}")
            }
            other => panic!("expected an InvalidData error, got {other:?}"),
        }
    });
}
