//! The generative peer suite (`eddy_tests::peers`) at CI size: every socket kind on both
//! runtime flavours. Each kind runs in a child process of its own, because the idle check
//! reads the whole process's CPU time and the other tests of this binary run beside it.
//! `EDDY_PEER_CASES` sets the cases per kind and flavour; a failure prints the shrunk case
//! and the seed that replays it (docs/testing.md, "The peer suite").

use eddy_tests::peers::{self, Flavour, SocketKind};

/// Cases per kind and flavour in CI.
const CI_CASES: u32 = 8;

/// The flag that makes the re-run test binary run the suite itself.
const CHILD: &str = "EDDY_PEER_CHILD";

fn suite(kind: SocketKind) {
    if std::env::var_os(CHILD).is_some() {
        let cases = peers::cases_from_env(CI_CASES);
        for flavour in Flavour::BOTH {
            match peers::run(kind, cases, flavour) {
                Ok(r) => println!(
                    "{} {}: {} cases, {} bytes, {} datagrams, idle CPU at most {:?}, {:.1?}",
                    kind.name(),
                    flavour.name(),
                    r.cases,
                    r.bytes,
                    r.datagrams,
                    r.max_idle_cpu,
                    r.elapsed
                ),
                Err(failure) => panic!("{failure}"),
            }
        }
        return;
    }
    let test = format!("peers::{}", kind.name());
    let out = std::process::Command::new(std::env::current_exe().expect("the test knows its path"))
        .args(["--exact", &test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        // A failure in CI shrinks for at most a minute per kind and flavour.
        .env(
            "EDDY_PEER_SHRINK_SECS",
            std::env::var("EDDY_PEER_SHRINK_SECS").unwrap_or_else(|_| "60".into()),
        )
        .output()
        .expect("running the peer suite in a child process");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{test} failed ({:?}):\n{text}",
        out.status
    );
    print!("{text}");
}

#[test]
fn tcp_inq() {
    suite(SocketKind::TcpInq);
}

#[test]
fn tcp_no_inq() {
    suite(SocketKind::TcpNoInq);
}

#[test]
fn unix_stream() {
    suite(SocketKind::UnixStream);
}

#[test]
fn socketpair() {
    suite(SocketKind::Socketpair);
}

#[test]
fn unix_datagram() {
    suite(SocketKind::UnixDatagram);
}

#[test]
fn udp() {
    suite(SocketKind::Udp);
}

#[test]
fn pipe() {
    suite(SocketKind::Pipe);
}
