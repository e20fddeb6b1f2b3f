use std::time::Duration;

use super::client::{parse_redis_csv, parse_wrk};
use super::{Input, Kind, Served, Service};

/// Feeds `input` to a fresh session of `kind` in one piece.
fn serve(kind: Kind, input: &[u8]) -> (Served, String) {
    let mut out = Vec::new();
    let served = Service::new(kind).session().serve(input, &mut out);
    (served, String::from_utf8(out).unwrap())
}

const HELLO: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, world!";

#[test]
fn http_answers_a_pipelined_burst_and_keeps_the_partial_rest() {
    let one = "GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
    let burst = format!("{one}{one}{one}GET / HT");
    let (served, out) = serve(Kind::Http, burst.as_bytes());
    assert_eq!(
        served,
        Served {
            consumed: 3 * one.len(),
            close: false
        }
    );
    assert_eq!(out, HELLO.repeat(3));
}

#[test]
fn http_request_split_across_reads_is_answered_once_complete() {
    let req = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
    let mut session = Service::new(Kind::Http).session();
    let mut out = Vec::new();
    let mut input = Input::new();
    for (i, &b) in req.iter().enumerate() {
        input.spare()[0] = b;
        input.filled(1);
        let served = session.serve(input.data(), &mut out);
        input.consume(served.consumed);
        assert!(!served.close);
        assert_eq!(out.is_empty(), i + 1 < req.len(), "after byte {i}");
    }
    assert_eq!(String::from_utf8(out).unwrap(), HELLO);
    assert!(input.data().is_empty());
}

#[test]
fn http_connection_rules() {
    // HTTP/1.1 asking to close, HTTP/1.0 by default, HTTP/1.0 asking to stay open.
    let (s, out) = serve(Kind::Http, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(s.close && out.contains("Connection: close\r\n"));
    let (s, out) = serve(Kind::Http, b"GET / HTTP/1.0\r\n\r\n");
    assert!(s.close && out.contains("Connection: close\r\n"));
    let (s, out) = serve(
        Kind::Http,
        b"GET / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n",
    );
    assert!(!s.close && out.contains("Connection: keep-alive\r\n"));
    let (_, out) = serve(Kind::Http, b"HEAD / HTTP/1.1\r\n\r\n");
    assert!(out.ends_with("Content-Length: 13\r\n\r\n"));
}

#[test]
fn http_rejects_what_it_cannot_frame() {
    let cases: [(&[u8], &str); 7] = [
        (b"GET /\r\n\r\n", "400"),
        (b"GET / HTTP/1.1\nHost: x\r\n\r\n", "400"),
        (b"GET / HTTP/2.0\r\n\r\n", "505"),
        (
            b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "501",
        ),
        (
            b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "400",
        ),
        (b"GET / HTTP/1.1\r\nContent-Length: 999999\r\n\r\n", "413"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "400"),
    ];
    for (input, status) in cases {
        let (s, out) = serve(Kind::Http, input);
        assert!(s.close, "{input:?}");
        assert!(
            out.starts_with(&format!("HTTP/1.1 {status} ")),
            "{input:?}: {out}"
        );
    }
    let huge = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(9000));
    let (s, out) = serve(Kind::Http, huge.as_bytes());
    assert!(s.close && out.starts_with("HTTP/1.1 431 "));
}

#[test]
fn resp_serves_redis_benchmark_commands_in_both_forms() {
    let input = b"PING\r\n*1\r\n$4\r\nPING\r\n\
        *3\r\n$3\r\nSET\r\n$16\r\nkey:__rand_int__\r\n$3\r\nxxx\r\n\
        *2\r\n$3\r\nGET\r\n$16\r\nkey:__rand_int__\r\n\
        get nothing\r\n\
        *3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$4\r\nsave\r\n\
        *2\r\n$3\r\nGET";
    let (served, out) = serve(Kind::Resp, input);
    assert_eq!(served.consumed, input.len() - b"*2\r\n$3\r\nGET".len());
    assert!(!served.close);
    assert_eq!(
        out,
        "+PONG\r\n+PONG\r\n+OK\r\n$3\r\nxxx\r\n$-1\r\n*2\r\n$4\r\nsave\r\n$0\r\n\r\n"
    );
}

#[test]
fn resp_errors() {
    let (s, out) = serve(
        Kind::Resp,
        b"FLUSHALL\r\nGET\r\nSET a b EX 10\r\nQUIT\r\nPING\r\n",
    );
    assert!(s.close);
    assert_eq!(
        out,
        "-ERR unknown command 'FLUSHALL'\r\n\
         -ERR wrong number of arguments for 'get' command\r\n\
         -ERR syntax error\r\n+OK\r\n"
    );
    for bad in [
        &b"*x\r\n"[..],
        b"*1\r\n+PING\r\n",
        b"*1\r\n$4\r\nPINGPONG\r\n",
    ] {
        let (s, out) = serve(Kind::Resp, bad);
        assert!(s.close && out.starts_with("-ERR Protocol error"), "{bad:?}");
    }
}

#[test]
fn wrk_report_is_read_and_errors_fail_it() {
    let report = "Running 2s test @ http://127.0.0.1:4000/\n  1 threads and 50 connections\n\
        \x20 Thread Stats   Avg      Stdev     Max   +/- Stdev\n\
        \x20   Latency   412.07us  101.43us   3.09ms   88.12%\n\
        \x20 Latency Distribution\n     50%  398.00us\n     75%  451.00us\n\
        \x20    90%  512.00us\n     99%    1.02ms\n\
        \x20 241234 requests in 2.00s, 23.01MB read\nRequests/sec: 120617.00\n\
        Transfer/sec:     11.50MB\n";
    let r = parse_wrk(report).unwrap();
    assert_eq!(r.requests, 241_234);
    assert_eq!(r.per_second, 120_617.0);
    assert_eq!(r.p50, Some(Duration::from_micros(398)));
    assert_eq!(r.p99, Some(Duration::from_micros(1020)));
    let errors = report.replace(
        "Requests/sec",
        "  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec",
    );
    assert!(parse_wrk(&errors).unwrap_err().contains("read 3"));
    let non2xx = report.replace(
        "Requests/sec",
        "  Non-2xx or 3xx responses: 7\nRequests/sec",
    );
    assert!(parse_wrk(&non2xx).is_err());
}

#[test]
fn redis_csv_is_read_over_all_tests() {
    let csv = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\
        \"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\
        \"PING_INLINE\",\"100000.00\",\"0.3\",\"0.1\",\"0.295\",\"0.4\",\"0.511\",\"1.2\"\n\
        \"PING_MBULK\",\"100000.00\",\"0.3\",\"0.1\",\"0.287\",\"0.4\",\"0.503\",\"1.1\"\n\
        \"SET\",\"50000.00\",\"0.3\",\"0.1\",\"0.303\",\"0.4\",\"0.607\",\"1.0\"\n\
        \"GET\",\"100000.00\",\"0.3\",\"0.1\",\"0.301\",\"0.4\",\"0.519\",\"1.3\"\n";
    let r = parse_redis_csv(csv, 10_000).unwrap();
    assert_eq!(r.requests, 40_000);
    // 40k requests in 0.1 + 0.1 + 0.2 + 0.1 s.
    assert!((r.per_second - 80_000.0).abs() < 1e-6, "{}", r.per_second);
    assert_eq!(r.p50, Some(Duration::from_micros(303)));
    assert_eq!(r.p99, Some(Duration::from_micros(607)));
    let no_get = csv.lines().take(4).collect::<Vec<_>>().join("\n");
    assert!(
        parse_redis_csv(&no_get, 10_000)
            .unwrap_err()
            .contains("GET")
    );
}
