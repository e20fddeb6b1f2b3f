//! `eddy::io::{stdin, stdout}`: the test binary re-run as a filter (stdin to stdout,
//! uppercased), its stdio a pipe, a regular file or `/dev/null`, driven by eddy::process.

use std::process::Stdio;

const FLAG: &str = "EDDY_TEST_STDIO_CHILD";
const TEST: &str = "stdio::the_process_stdio_works_on_pipes_files_and_dev_null";

/// In the child: copies stdin to stdout uppercased, between markers (libtest prints to the
/// same stdout), and reports on stderr each stream's mode and whether fds 0 and 1 were left
/// blocking (their file descriptions are shared with the parent).
fn filter() {
    eddy::run(async {
        let mut stdin = eddy::io::stdin().unwrap();
        let mut stdout = eddy::io::stdout().unwrap();
        let mut input = Vec::new();
        stdin.read_to_end(&mut input).await.unwrap();
        stdout.write_all(b"<<<").await.unwrap();
        // In pieces, so the blocking-pool mode runs several jobs.
        for chunk in input.to_ascii_uppercase().chunks(100_000) {
            stdout.write_all(chunk).await.unwrap();
        }
        stdout.write_all(b">>>").await.unwrap();
        stdout.flush().await.unwrap();
        let nonblocking = |fd| {
            // SAFETY: F_GETFL only reads the flags of fds 0 and 1, open for the test.
            let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
            flags & libc::O_NONBLOCK != 0
        };
        eprintln!(
            "modes: {:?} {:?}; nonblocking: {} {}",
            stdin.mode(),
            stdout.mode(),
            nonblocking(0),
            nonblocking(1)
        );
    });
}

/// What the child wrote between the markers, and its stderr.
fn run_filter(stdin: Stdio, stdout: Stdio, input: Option<Vec<u8>>) -> (Vec<u8>, String) {
    eddy::run(async move {
        let mut child = crate::support::rerun_async(TEST)
            .env(FLAG, "1")
            .stdin(stdin)
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = input {
            let mut pipe = child.stdin.take().unwrap();
            eddy::spawn(async move { pipe.write_all(&input).await.unwrap() });
        }
        let output = child.wait_with_output().await.unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "child failed: {stderr}");
        (output.stdout, stderr)
    })
}

fn between_markers(out: &[u8]) -> &[u8] {
    let start = out
        .windows(3)
        .position(|w| w == b"<<<")
        .expect("no start marker")
        + 3;
    let end = out
        .windows(3)
        .rposition(|w| w == b">>>")
        .expect("no end marker");
    &out[start..end]
}

#[test]
fn the_process_stdio_works_on_pipes_files_and_dev_null() {
    if std::env::var_os(FLAG).is_some() {
        filter();
        return;
    }
    // A megabyte: many times what a pipe holds, so both directions wait for readiness.
    let input: Vec<u8> = (0..1_000_000u32)
        .map(|i| b"abcdefghij\n"[(i % 11) as usize])
        .collect();
    let expected = input.to_ascii_uppercase();

    // Pipes both ways: the reactor, and the parent's pipe ends left blocking.
    let (out, err) = run_filter(Stdio::piped(), Stdio::piped(), Some(input.clone()));
    assert!(
        between_markers(&out) == expected,
        "wrong output through pipes"
    );
    assert!(
        err.contains("modes: Readiness Readiness; nonblocking: false false"),
        "{err}"
    );

    // Regular files both ways: the blocking pool.
    let dir = std::env::temp_dir();
    let in_path = dir.join(format!("eddy-stdio-in-{}", std::process::id()));
    let out_path = dir.join(format!("eddy-stdio-out-{}", std::process::id()));
    std::fs::write(&in_path, &input).unwrap();
    let in_file = std::fs::File::open(&in_path).unwrap();
    let out_file = std::fs::File::create(&out_path).unwrap();
    let (_, err) = run_filter(in_file.into(), out_file.into(), None);
    let written = std::fs::read(&out_path).unwrap();
    let _ = (
        std::fs::remove_file(&in_path),
        std::fs::remove_file(&out_path),
    );
    assert!(
        between_markers(&written) == expected,
        "wrong output through files"
    );
    assert!(err.contains("modes: BlockingPool BlockingPool"), "{err}");

    // /dev/null in (a character device epoll refuses): the pool, and end-of-file at once.
    let (out, err) = run_filter(Stdio::null(), Stdio::piped(), None);
    assert_eq!(between_markers(&out), b"");
    assert!(err.contains("modes: BlockingPool Readiness"), "{err}");
}
