//! The SIGTERM drain test: the example's server (`examples/graceful/mod.rs`, compiled in
//! here) runs in a child process (this test binary, re-run with a flag); a client starts
//! requests that fit the grace period and requests that do not, the test sends a real
//! SIGTERM, and checks what each request got, that new connections are refused, what the
//! server reported, and that it exited 0.
//!
//! Nothing here asserts a duration: the short requests (300 ms) fit a 2 s grace period and
//! the long ones (60 s) do not, by wide margins either way, and every wait has a 30 s limit
//! only so a broken server fails the test instead of hanging it.

#[path = "../../../examples/graceful/mod.rs"]
mod graceful;

use std::collections::BTreeSet;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

/// The child's flags reach it in this variable (whose presence makes it the server).
const FLAG: &str = "EDDY_TEST_GRACEFUL_SERVER_ARGS";
const SHORT_MS: u64 = 300;
const LONG_MS: u64 = 60_000;
const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn sigterm_drains_a_current_thread_server() {
    drain(
        "shutdown::sigterm::sigterm_drains_a_current_thread_server",
        &[],
    );
}

#[test]
fn sigterm_drains_a_multi_thread_server() {
    drain(
        "shutdown::sigterm::sigterm_drains_a_multi_thread_server",
        &["--multi-thread"],
    );
}

/// In the child: serves until SIGTERM. In the parent: the test.
fn drain(test: &str, flavour: &[&str]) {
    if let Some(args) = std::env::var_os(FLAG) {
        let args = args.to_str().unwrap().split(' ').map(str::to_owned);
        let config = graceful::Config::from_args(args).unwrap();
        graceful::run(&config).unwrap();
        println!("child: ok");
        return;
    }
    let mut args = vec!["--addr", "127.0.0.1:0", "--grace-ms", "2000"];
    args.extend_from_slice(flavour);
    let mut child = crate::support::rerun(test)
        .env(FLAG, args.join(" "))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // The child's stdout, line by line, on a thread of its own, so the test can wait for
    // one line and still collect them all.
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let reader = std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut seen = Vec::new();
    // The test harness may print the test's name on the same line, so look inside lines.
    let addr: SocketAddr = wait_for_line(&lines, &mut seen, "listening on ")
        .split("listening on ")
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let mut short = Vec::new();
    let mut long = Vec::new();
    for i in 0..6 {
        let ms = if i % 2 == 0 { SHORT_MS } else { LONG_MS };
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        stream
            .write_all(format!("SLEEP {ms}\n").as_bytes())
            .unwrap();
        let mut reader = BufReader::new(stream);
        // The server has the request in hand: it is in flight when the signal comes.
        assert_eq!(read_line(&mut reader).unwrap(), format!("STARTED {ms}"));
        if ms == SHORT_MS {
            short.push(reader)
        } else {
            long.push(reader)
        }
    }

    // SAFETY: kill has no memory preconditions; `pid` is our own child, not yet reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    wait_for_line(&lines, &mut seen, "stopped accepting");
    // The listener is closed: a new connection is refused (on loopback the kernel answers
    // a closed port with a reset at once).
    let late = TcpStream::connect_timeout(&addr, LIMIT)
        .expect_err("a connection made after SIGTERM was accepted");
    assert_eq!(late.kind(), io::ErrorKind::ConnectionRefused, "{late}");

    for reader in &mut short {
        assert_eq!(read_line(reader).unwrap(), format!("DONE {SHORT_MS}"));
        // Then the server closes the connection between requests.
        assert_eq!(read_line(reader).unwrap(), "");
    }
    let mut long_peers = BTreeSet::new();
    for reader in &mut long {
        long_peers.insert(format!(
            "\"conn {}\"",
            reader.get_ref().local_addr().unwrap()
        ));
        // Closed without an answer: end of stream, or a reset.
        match read_line(reader) {
            Ok(line) => assert_eq!(line, "", "a request past the grace period was answered"),
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
        }
    }

    let status = child.wait().unwrap();
    reader.join().unwrap();
    seen.extend(lines.try_iter());
    let out = seen.join("\n");
    assert!(
        status.success() && out.contains("child: ok"),
        "the server failed ({status:?}):\n{out}"
    );
    assert!(
        out.contains("shutdown: 3 tasks finished, 3 cancelled after the 2s grace period:"),
        "{out}"
    );
    // One report line per long request, each naming its connection and the spawn site in
    // the server's code.
    let reported: Vec<&String> = seen.iter().filter(|l| l.contains(" spawned at ")).collect();
    assert_eq!(reported.len(), 3, "{out}");
    let mut named = BTreeSet::new();
    for line in reported {
        assert!(line.contains("examples/graceful/mod.rs:"), "{line}");
        let peer = long_peers.iter().find(|peer| line.contains(peer.as_str()));
        named.insert(
            peer.unwrap_or_else(|| panic!("not a long request: {line}"))
                .clone(),
        );
    }
    assert_eq!(named, long_peers, "{out}");
}

/// Waits (up to [`LIMIT`]) for the child to print a line containing `needle`, keeping
/// every line in `seen`.
fn wait_for_line(lines: &mpsc::Receiver<String>, seen: &mut Vec<String>, needle: &str) -> String {
    loop {
        let line = lines.recv_timeout(LIMIT).unwrap_or_else(|e| {
            panic!(
                "no line with {needle:?} ({e}); so far:\n{}",
                seen.join("\n")
            )
        });
        seen.push(line.clone());
        if line.contains(needle) {
            return line;
        }
    }
}

/// The next line, without its newline; `""` at end of stream.
fn read_line(reader: &mut BufReader<TcpStream>) -> io::Result<String> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    Ok(line.trim_end().to_owned())
}
