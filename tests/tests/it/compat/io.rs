//! eddy's sockets through the `futures-io` traits: `futures::io::copy`, `read_to_end`,
//! `BufReader::lines` and a length-prefixed framing codec, over TCP and Unix sockets.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use eddy::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use futures::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use futures::{StreamExt, TryStreamExt};

use super::each_runtime;

/// Either socket type, behind the traits the code under test is written against.
trait Duplex: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Duplex for T {}
type Stream = Box<dyn Duplex>;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Tcp,
    Unix,
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

impl Listener {
    async fn bind(kind: Kind) -> Listener {
        match kind {
            Kind::Tcp => Listener::Tcp(TcpListener::bind("127.0.0.1:0").await.unwrap()),
            Kind::Unix => {
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                let path = std::env::temp_dir().join(format!(
                    "eddy-compat-{}-{}.sock",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed)
                ));
                let _ = std::fs::remove_file(&path);
                Listener::Unix(UnixListener::bind(&path).unwrap(), path)
            }
        }
    }

    async fn accept(&self) -> Stream {
        match self {
            Listener::Tcp(l) => Box::new(l.accept().await.unwrap().0),
            Listener::Unix(l, _) => Box::new(l.accept().await.unwrap().0),
        }
    }

    fn connector(&self) -> Connector {
        match self {
            Listener::Tcp(l) => Connector::Tcp(l.local_addr().unwrap()),
            Listener::Unix(_, path) => Connector::Unix(path.clone()),
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[derive(Clone)]
enum Connector {
    Tcp(std::net::SocketAddr),
    Unix(PathBuf),
}

impl Connector {
    async fn connect(&self) -> Stream {
        match self {
            Connector::Tcp(addr) => Box::new(TcpStream::connect(*addr).await.unwrap()),
            Connector::Unix(path) => Box::new(UnixStream::connect(path).await.unwrap()),
        }
    }
}

/// `connections` clients at once against one listener: each accepted stream is handed to
/// `server`, each connected one to `client` with its index. Runs over TCP, then Unix.
fn exchange<S, SF, C, CF>(connections: usize, server: S, client: C)
where
    S: Fn(Stream) -> SF + Clone + Send + Sync + 'static,
    SF: Future<Output = io::Result<()>> + Send + 'static,
    C: Fn(Stream, usize) -> CF + Clone + Send + Sync + 'static,
    CF: Future<Output = io::Result<()>> + Send + 'static,
{
    each_runtime(move || {
        let (server, client) = (server.clone(), client.clone());
        async move {
            for kind in [Kind::Tcp, Kind::Unix] {
                let listener = Listener::bind(kind).await;
                let connector = listener.connector();
                let server = server.clone();
                let acceptor = eddy::spawn(async move {
                    let mut served = Vec::new();
                    for _ in 0..connections {
                        served.push(eddy::spawn(server(listener.accept().await)));
                    }
                    for s in served {
                        s.await.unwrap().unwrap();
                    }
                    drop(listener);
                });
                let clients: Vec<_> = (0..connections)
                    .map(|i| {
                        let (connector, client) = (connector.clone(), client.clone());
                        eddy::spawn(async move { client(connector.connect().await, i).await })
                    })
                    .collect();
                for c in clients {
                    c.await
                        .unwrap()
                        .unwrap_or_else(|e| panic!("{kind:?} client: {e}"));
                }
                acceptor.await.unwrap();
            }
        }
    });
}

/// Bytes that differ from one connection and one offset to the next.
fn pattern(seed: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + seed * 7) as u8).collect()
}

/// Echoes with `futures::io::copy`, then half-closes.
async fn echo(stream: Stream) -> io::Result<()> {
    let (mut reader, mut writer) = stream.split();
    futures::io::copy(&mut reader, &mut writer).await?;
    writer.close().await
}

#[test]
fn copy_and_read_to_end() {
    const LEN: usize = 256 * 1024;
    exchange(16, echo, |stream, i| async move {
        let data = pattern(i, LEN);
        let (mut reader, mut writer) = stream.split();
        // Write and read at once: the echo would stall on full socket buffers otherwise.
        let send = async {
            writer.write_all(&data).await?;
            writer.close().await
        };
        let mut back = Vec::new();
        let (sent, read) = futures::join!(send, reader.read_to_end(&mut back));
        sent?;
        assert_eq!(read?, LEN);
        assert!(back == data, "echoed bytes differ");
        Ok(())
    });
}

#[test]
fn bufreader_lines() {
    const LINES: usize = 2_000;
    exchange(
        8,
        |mut stream| async move {
            // One write per line: the reader sees lines split across reads.
            for i in 0..LINES {
                stream.write_all(format!("line {i} ✓\n").as_bytes()).await?;
            }
            stream.close().await
        },
        |stream, _| async move {
            let lines: Vec<String> = BufReader::new(stream).lines().try_collect().await?;
            assert_eq!(lines.len(), LINES);
            for (i, line) in lines.iter().enumerate() {
                assert_eq!(line, &format!("line {i} ✓"));
            }
            Ok(())
        },
    );
}

/// The codec: a 4-byte big-endian length, then that many bytes.
async fn write_frame(w: &mut (impl AsyncWrite + Unpin), payload: &[u8]) -> io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame over 4 GiB"))?;
    w.write_all(&len.to_be_bytes()).await?;
    w.write_all(payload).await
}

/// `Ok(None)` on a clean end of stream between frames; `UnexpectedEof` inside one.
async fn read_frame(r: &mut (impl AsyncRead + Unpin)) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < len.len() {
        match r.read(&mut len[got..]).await? {
            0 if got == 0 => return Ok(None),
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => got += n,
        }
    }
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    r.read_exact(&mut payload).await?;
    Ok(Some(payload))
}

/// Frame sizes around the edges: empty, tiny, a buffer's worth, larger than a socket buffer.
const FRAME_SIZES: &[usize] = &[0, 1, 3, 4, 5, 100, 4095, 4096, 4097, 65_536, 300_000, 7];

#[test]
fn length_delimited_frames_round_trip() {
    exchange(
        8,
        |stream| async move {
            // Decode each frame and encode it again, reversed, through buffered halves.
            let (reader, writer) = stream.split();
            let (mut reader, mut writer) =
                (BufReader::new(reader), futures::io::BufWriter::new(writer));
            while let Some(mut frame) = read_frame(&mut reader).await? {
                frame.reverse();
                write_frame(&mut writer, &frame).await?;
                writer.flush().await?;
            }
            writer.close().await
        },
        |stream, i| async move {
            let (mut reader, mut writer) = stream.split();
            let frames: Vec<Vec<u8>> = FRAME_SIZES
                .iter()
                .enumerate()
                .map(|(k, &n)| pattern(i * 100 + k, n))
                .collect();
            let send = async {
                for f in &frames {
                    write_frame(&mut writer, f).await?;
                }
                writer.close().await
            };
            let receive = async {
                let mut back = Vec::new();
                while let Some(f) = read_frame(&mut reader).await? {
                    back.push(f);
                }
                io::Result::Ok(back)
            };
            let (sent, back) = futures::join!(send, receive);
            sent?;
            let back = back?;
            assert_eq!(back.len(), frames.len());
            for (mut f, b) in frames.into_iter().zip(back) {
                f.reverse();
                assert!(f == b, "frame of {} bytes came back changed", f.len());
            }
            Ok(())
        },
    );
}

#[test]
fn truncated_frame_is_unexpected_eof() {
    exchange(
        1,
        |mut stream| async move {
            stream.write_all(&10u32.to_be_bytes()).await?;
            stream.write_all(b"short").await?;
            stream.close().await
        },
        |mut stream, _| async move {
            let err = read_frame(&mut stream)
                .await
                .expect_err("the frame is cut short");
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
            Ok(())
        },
    );
}

#[test]
fn incoming_is_a_stream() {
    each_runtime(|| async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let clients: Vec<_> = (0..50)
            .map(|i| {
                eddy::spawn(async move {
                    let mut s = TcpStream::connect(addr).await.unwrap();
                    s.write_all(&[i as u8]).await.unwrap();
                })
            })
            .collect();
        let mut seen: Vec<u8> = listener
            .incoming()
            .take(50)
            .then(|s| async move {
                let mut b = [0u8; 1];
                s.unwrap().read_exact(&mut b).await.unwrap();
                b[0]
            })
            .collect()
            .await;
        seen.sort_unstable();
        assert_eq!(seen, (0..50).collect::<Vec<u8>>());
        for c in clients {
            c.await.unwrap();
        }
    });
}
