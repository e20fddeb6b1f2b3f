//! The multi-thread runtime serves 1,000 concurrent echo connections on 2 workers.

use eddy::net::{TcpListener, TcpStream};

use crate::support::two_workers;

#[test]
fn two_workers_serve_a_thousand_connections() {
    const CONNECTIONS: usize = 1000;
    let rt = two_workers();
    let echoed = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        eddy::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                eddy::spawn(async move {
                    let mut buf = [0u8; 4096];
                    loop {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                if stream.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        let mut set = eddy::task::JoinSet::new();
        for c in 0..CONNECTIONS {
            set.spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let msg: Vec<u8> = (0..64).map(|i| (i + c) as u8).collect();
                for _ in 0..4 {
                    stream.write_all(&msg).await.unwrap();
                    let mut back = [0u8; 64];
                    stream.read_exact(&mut back).await.unwrap();
                    assert_eq!(&back[..], &msg[..]);
                }
                4 * msg.len()
            });
        }
        let mut total = 0;
        while let Some(n) = set.join_next().await {
            total += n.unwrap();
        }
        total
    });
    assert_eq!(echoed, CONNECTIONS * 4 * 64);
}
