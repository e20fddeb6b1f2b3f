//! Opens `--connections N` concurrent connections to an echo server from one thread, sends
//! each a few messages and checks every byte that comes back.
//!
//! ```text
//! cargo run --release -p eddy --example echo_client -- --addr 127.0.0.1:7000 --connections 1000
//! ```

use std::io;
use std::time::Instant;

use eddy::net::TcpStream;
use eddy::task::JoinSet;

const ROUNDS: usize = 5;

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let addr = value("--addr").unwrap_or_else(|| "127.0.0.1:7000".to_owned());
    let connections: usize = value("--connections")
        .map(|n| {
            n.parse().map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("--connections: {e}"))
            })
        })
        .transpose()?
        .unwrap_or(1000);
    eddy::run(async move {
        let started = Instant::now();
        let mut clients = JoinSet::new();
        for c in 0..connections {
            let addr = addr.clone();
            clients.spawn(async move {
                let mut stream = TcpStream::connect(addr.as_str()).await?;
                for round in 0..ROUNDS {
                    let message = format!("client {c} round {round}\n");
                    stream.write_all(message.as_bytes()).await?;
                    let mut back = vec![0u8; message.len()];
                    stream.read_exact(&mut back).await?;
                    if back != message.as_bytes() {
                        return Err(io::Error::other(format!("client {c}: the echo differs")));
                    }
                }
                io::Result::Ok(())
            });
        }
        let mut ok = 0;
        while let Some(result) = clients.join_next().await {
            result.map_err(|e| io::Error::other(e.to_string()))??;
            ok += 1;
        }
        println!(
            "{ok} connections x {ROUNDS} round trips, every byte checked, in {:.2?}",
            started.elapsed()
        );
        Ok(())
    })
}
