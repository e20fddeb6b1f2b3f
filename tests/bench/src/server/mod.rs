//! Server workloads driven by external clients: `wrk` against an HTTP/1.1 hello server and
//! `redis-benchmark` against a RESP server, each server a child process of its own.
//!
//! The protocols are written once, without I/O ([`http`], [`resp`]): a [`Session`] takes
//! the bytes a connection has read and appends its responses to an output buffer. Every
//! server variant runs that same code and differs only in how bytes reach it: one task per
//! connection on eddy or tokio, current-thread or two workers ([`serve`]), or one thread
//! and one epoll loop on eddy-selector with no tasks at all ([`raw`], the limit).
//!
//! One run starts a fresh server process (`eddy-bench --serve KIND VARIANT ADDR`), reads
//! its CPU time (its own `getrusage`, asked over its stdin), runs the client to the end,
//! reads the CPU time again and stops the process. Client and server share the machine's
//! cores, so requests per second often measure the client; the server's CPU time per
//! request does not depend on who else runs, and is the steadier figure.

mod client;
mod http;
mod raw;
mod resp;
pub(crate) mod serve;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use crate::workloads::{Figure, Runner, Target, Workload};
use client::Client;
use serve::{ServerProcess, Variant};

/// Which protocol a server speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Http,
    Resp,
}

impl Kind {
    /// The name on the `--serve` command line.
    pub(crate) fn arg(self) -> &'static str {
        match self {
            Kind::Http => "http",
            Kind::Resp => "resp",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Kind> {
        [Kind::Http, Kind::Resp].into_iter().find(|k| k.arg() == s)
    }

    /// The workload name's first word, which `--only` matches.
    fn workload(self) -> &'static str {
        match self {
            Kind::Http => "http_hello",
            Kind::Resp => "resp_ping_set_get",
        }
    }
}

/// What one server process serves: the protocol, and for RESP the store its connections
/// share.
#[derive(Clone)]
pub(crate) enum Service {
    Http,
    Resp(Arc<resp::Store>),
}

impl Service {
    pub(crate) fn new(kind: Kind) -> Service {
        match kind {
            Kind::Http => Service::Http,
            Kind::Resp => Service::Resp(Arc::default()),
        }
    }

    /// The protocol state of a new connection.
    pub(crate) fn session(&self) -> Session {
        match self {
            Service::Http => Session::Http(http::Session),
            Service::Resp(store) => Session::Resp(resp::Session::new(store.clone())),
        }
    }
}

/// One connection's protocol state.
pub(crate) enum Session {
    Http(http::Session),
    Resp(resp::Session),
}

/// What a session did with the bytes it was given.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Served {
    /// Bytes of complete requests, answered in the output; the rest is an incomplete
    /// request the next read continues.
    pub(crate) consumed: usize,
    /// The connection ends once the output is written: the client asked, or a request was
    /// malformed (its error response is in the output).
    pub(crate) close: bool,
}

/// What a protocol did with the first request of its input.
pub(crate) enum Step {
    /// Answered a complete request of `len` bytes; `close` once the answer is written.
    Answered { len: usize, close: bool },
    /// The request is not complete yet.
    Incomplete,
    /// The request is malformed: its error response is in the output, and nothing after
    /// it can be framed, so the connection closes.
    Rejected,
}

impl Session {
    /// Answers every complete request at the front of `input`, appending the responses to
    /// `out`; what it does not consume is an incomplete request the next read continues.
    pub(crate) fn serve(&mut self, input: &[u8], out: &mut Vec<u8>) -> Served {
        let mut pos = 0;
        loop {
            let step = match self {
                Session::Http(s) => s.step(&input[pos..], out),
                Session::Resp(s) => s.step(&input[pos..], out),
            };
            match step {
                Step::Answered { len, close } => {
                    pos += len;
                    if close {
                        return Served {
                            consumed: pos,
                            close,
                        };
                    }
                }
                Step::Incomplete => {
                    return Served {
                        consumed: pos,
                        close: false,
                    };
                }
                Step::Rejected => {
                    return Served {
                        consumed: input.len(),
                        close: true,
                    };
                }
            }
        }
    }
}

/// A connection's input buffer: bytes read that no session has consumed yet, at the front.
pub(crate) struct Input {
    buf: Vec<u8>,
    len: usize,
}

/// What a connection reads at most at once, to begin with; the sessions bound a request's
/// size (8 KiB of HTTP head and 64 KiB of body, 1 MiB of RESP), and the buffer grows to
/// hold one.
const READ_SIZE: usize = 16 * 1024;

impl Input {
    pub(crate) fn new() -> Input {
        Input {
            buf: vec![0; READ_SIZE],
            len: 0,
        }
    }

    /// Where the next read goes: never empty.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        if self.len == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        &mut self.buf[self.len..]
    }

    /// Counts `n` bytes read into [`spare`](Input::spare).
    pub(crate) fn filled(&mut self, n: usize) {
        self.len += n;
        debug_assert!(self.len <= self.buf.len());
    }

    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Drops the first `n` bytes, moving an incomplete request's start to the front.
    pub(crate) fn consume(&mut self, n: usize) {
        self.buf.copy_within(n..self.len, 0);
        self.len -= n;
    }
}

/// The server workloads, and those that cannot run here with the reason.
pub(crate) struct Plan {
    pub(crate) run: Vec<Workload>,
    pub(crate) skipped: Vec<(String, String)>,
}

/// Every server workload at its full or `--quick` size: for each protocol, 50 and 256
/// connections (50 alone with `--quick`), unpipelined and 16 requests deep, current-thread
/// and two workers; each row runs eddy, tokio and the raw epoll server.
pub(crate) fn plan(quick: bool) -> Plan {
    let conns: &[usize] = if quick { &[50] } else { &[50, 256] };
    let mut plan = Plan {
        run: Vec::new(),
        skipped: Vec::new(),
    };
    for kind in [Kind::Http, Kind::Resp] {
        let missing = client::missing(kind);
        for &c in conns {
            for depth in [1, 16] {
                for (flavour, workers) in [("current-thread", 0), ("2 workers", 2)] {
                    let pipelined = if depth > 1 {
                        format!(" pipelined {depth}")
                    } else {
                        String::new()
                    };
                    let name = format!("{} {c} conn{pipelined}, {flavour}", kind.workload());
                    if let Some(why) = &missing {
                        plan.skipped.push((name, why.clone()));
                        continue;
                    }
                    let client = Client::new(kind, c, depth, quick);
                    let runners = [
                        (0, Variant::Eddy(workers)),
                        (1, Variant::Tokio(workers)),
                        (3, Variant::Raw),
                    ]
                    .map(|(col, v)| (col, runner(kind, v, client.clone())));
                    plan.run
                        .push(Workload::new(name, figures(workers), runners.into()));
                }
            }
        }
    }
    plan
}

/// The client command lines of a full run at 50 connections (256 differ only in `-c`),
/// unpipelined and pipelined, for the docs.
pub(crate) fn commands() -> Vec<String> {
    [
        (Kind::Http, 1),
        (Kind::Http, 16),
        (Kind::Resp, 1),
        (Kind::Resp, 16),
    ]
    .map(|(kind, depth)| {
        Client::new(kind, 50, depth, false).describe("PORT", &format!("pipeline-{depth}.lua"))
    })
    .into()
}

/// The figures of one server row and BENCHMARKS.md's targets for them: CPU per request at
/// most 0.95 of tokio's on one thread and 0.9 on two workers, with at least 0.9 of the raw
/// server's requests per CPU-second; on two workers a p99 no worse than tokio's.
fn figures(workers: usize) -> Vec<Figure> {
    let none = |unit, higher_is_better| Figure {
        unit,
        higher_is_better,
        target: None,
        baseline_target: None,
    };
    vec![
        none("req/s", true),
        none("p50 µs", false),
        Figure {
            target: (workers > 0).then_some(Target::AtMostOfTokio(1.0)),
            ..none("p99 µs", false)
        },
        Figure {
            target: Some(Target::AtMostOfTokio(if workers > 0 { 0.9 } else { 0.95 })),
            baseline_target: Some(0.9),
            ..none("CPU µs/req", false)
        },
        none("user CPU µs/req", false),
    ]
}

/// One run: a fresh server process, the client against it, the server's CPU time over
/// exactly the client's run.
fn runner(kind: Kind, variant: Variant, client: Client) -> Runner {
    Box::new(move || {
        let mut server = ServerProcess::start(kind, variant)?;
        let before = server.cpu_time()?;
        let report = client.run(server.addr())?;
        let after = server.cpu_time()?;
        server.stop()?;
        let cpu = after.since(before);
        let per_request = |d: Duration| d.as_secs_f64() * 1e6 / report.requests as f64;
        let us = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e6);
        Ok(vec![
            report.per_second,
            us(report.p50),
            us(report.p99),
            per_request(cpu.user + cpu.system),
            per_request(cpu.user),
        ])
    })
}
