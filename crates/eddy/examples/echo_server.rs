//! Chapter 1's socket story: one thread serving thousands of connections with non-blocking
//! sockets and an event loop. Prints its address, echoes everything back, and exits after
//! `--connections N` connections have come and gone; without it, it serves until Ctrl-C, then
//! stops accepting and drains the open connections (for at most five seconds).
//! With `--workers N` it runs on a multi-thread runtime of N workers instead of one thread.
//!
//! ```text
//! cargo run --release -p eddy --example echo_server -- --addr 127.0.0.1:7000 --connections 1000
//! cargo run --release -p eddy --example echo_server -- --workers 2 --connections 1000
//! ```

use std::io;
use std::time::Duration;

use eddy::net::TcpListener;
use eddy::task::JoinSet;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let addr = value("--addr").unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    let limit: Option<usize> = match value("--connections") {
        Some(n) => Some(n.parse().map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("--connections: {e}"))
        })?),
        None => None,
    };
    let workers: Option<usize> =
        match value("--workers") {
            Some(n) => Some(n.parse().map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("--workers: {e}"))
            })?),
            None => None,
        };
    let runtime = match workers {
        Some(n) => eddy::Runtime::builder()
            .multi_thread()
            .worker_threads(n)
            .build()?,
        None => eddy::Runtime::builder().current_thread().build()?,
    };
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr.as_str()).await?;
        // The first line is the address, so a script (or cargo xtask) can connect to it.
        println!("listening on {}", listener.local_addr()?);
        let mut connections = JoinSet::new();
        let mut served = 0usize;
        // Created once, so a SIGINT between two accepts is not missed; only installed when
        // the server runs without a connection limit.
        let mut ctrl_c = std::pin::pin!(async {
            match limit {
                Some(_) => std::future::pending().await,
                None => eddy::signal::ctrl_c().await,
            }
        });
        while limit.is_none_or(|limit| served < limit) {
            let next = eddy::future::race(async { Some(listener.accept().await) }, async {
                // An error installing the handler means no Ctrl-C can come: serve on.
                match ctrl_c.as_mut().await {
                    Ok(()) => None,
                    Err(_) => std::future::pending().await,
                }
            })
            .await;
            let Some(accepted) = next else {
                println!(
                    "Ctrl-C: no new connections; draining {} open ones",
                    connections.len()
                );
                break;
            };
            let (mut stream, _) = accepted?;
            served += 1;
            connections.spawn(async move {
                let mut buf = [0u8; 4096];
                let mut echoed = 0usize;
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return echoed,
                        Ok(n) => match stream.write_all(&buf[..n]).await {
                            Ok(()) => echoed += n,
                            Err(_) => return echoed,
                        },
                    }
                }
            });
        }
        let mut bytes = 0;
        let drain = async {
            while let Some(echoed) = connections.join_next().await {
                bytes += echoed.unwrap_or(0);
            }
        };
        if eddy::timeout(Duration::from_secs(5), drain).await.is_err() {
            println!("connections still open after 5 s are closed");
        }
        let threads = workers.map_or("one thread".to_owned(), |n| format!("{n} workers"));
        println!("served {served} connections, echoed {bytes} bytes, on {threads}");
        Ok(())
    })
}
