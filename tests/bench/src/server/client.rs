//! The external clients: `wrk` for HTTP, `redis-benchmark` for RESP; their command lines,
//! a run with a time limit, and the figures read from their reports.
//!
//! A report that shows any error (a socket error or non-2xx answer in wrk's, an error
//! reply or a non-zero exit from redis-benchmark) fails the run: it is never counted.

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::Kind;

/// What one client run measured.
#[derive(Debug)]
pub(crate) struct Report {
    /// Requests answered over the whole run.
    pub(crate) requests: u64,
    pub(crate) per_second: f64,
    /// `None` where the client's figure is not a latency of anything (wrk pipelined).
    pub(crate) p50: Option<Duration>,
    pub(crate) p99: Option<Duration>,
}

/// One client configuration: the tool, its connections and its pipeline depth.
#[derive(Clone, Debug)]
pub(crate) enum Client {
    /// `wrk -t1`: one client thread, so the client takes at most one of the two cores.
    Wrk {
        conns: usize,
        depth: usize,
        duration: Duration,
    },
    /// `redis-benchmark` (single-threaded by default) running its PING_INLINE,
    /// PING_MBULK, SET and GET tests, `requests` each.
    Redis {
        conns: usize,
        depth: usize,
        requests: u64,
    },
}

/// The tests `-t ping,set,get` runs: `ping` is both the inline and the multibulk form.
const REDIS_TESTS: [&str; 4] = ["PING_INLINE", "PING_MBULK", "SET", "GET"];

impl Client {
    /// The client of a `kind` row. The sizes make a full series of every row last about
    /// ten minutes on a 2-vCPU machine, and `--quick` about half a minute.
    pub(crate) fn new(kind: Kind, conns: usize, depth: usize, quick: bool) -> Client {
        match kind {
            Kind::Http => Client::Wrk {
                conns,
                depth,
                duration: Duration::from_secs(if quick { 1 } else { 2 }),
            },
            Kind::Resp => {
                let requests = match (depth > 1, quick) {
                    (false, false) => 50_000,
                    (false, true) => 20_000,
                    (true, false) => 600_000,
                    (true, true) => 300_000,
                };
                Client::Redis {
                    conns,
                    depth,
                    requests,
                }
            }
        }
    }

    /// The command line against `port`, as a person would type it, with `script` for the
    /// pipelining script's path.
    pub(crate) fn describe(&self, port: &str, script: &str) -> String {
        let (program, args) = self.args(port, script);
        format!("{program} {}", args.join(" "))
    }

    fn args(&self, port: &str, script: &str) -> (&'static str, Vec<String>) {
        match self {
            Client::Wrk {
                conns,
                depth,
                duration,
            } => {
                let mut args = vec![
                    "-t1".into(),
                    format!("-c{conns}"),
                    format!("-d{}s", duration.as_secs()),
                    "--latency".into(),
                ];
                if *depth > 1 {
                    args.extend(["-s".into(), script.into()]);
                }
                args.push(format!("http://127.0.0.1:{port}/"));
                ("wrk", args)
            }
            Client::Redis {
                conns,
                depth,
                requests,
            } => {
                let mut args: Vec<String> = [
                    "-h",
                    "127.0.0.1",
                    "-p",
                    port,
                    "-c",
                    &conns.to_string(),
                    "-n",
                    &requests.to_string(),
                    "-t",
                    "ping,set,get",
                ]
                .map(String::from)
                .into();
                if *depth > 1 {
                    args.extend(["-P".into(), depth.to_string()]);
                }
                args.push("--csv".into());
                ("redis-benchmark", args)
            }
        }
    }

    /// Runs the client against `addr` to its end and reads its report.
    pub(crate) fn run(&self, addr: SocketAddr) -> Result<Report, String> {
        let script = match self {
            Client::Wrk { depth, .. } if *depth > 1 => Some(Script::write(*depth)?),
            _ => None,
        };
        let script_arg = script
            .as_ref()
            .map_or(String::new(), |s| s.0.display().to_string());
        let (program, args) = self.args(&addr.port().to_string(), &script_arg);
        let mut cmd = Command::new(program);
        cmd.args(&args);
        match self {
            Client::Wrk {
                duration, depth, ..
            } => {
                // wrk stops on its own after `duration`; a client still running long after
                // is stuck on a server that stopped answering.
                let out = run_to_end(&mut cmd, *duration + Duration::from_secs(15))?;
                let mut report = parse_wrk(&out)?;
                if *depth > 1 {
                    // wrk records one latency per batch of `depth` responses, then corrects
                    // its histogram for coordinated omission (`stats_correct`): every sample
                    // of at least twice an interval gets copies at one, two, ... intervals
                    // less, the interval being the run time over responses per connection,
                    // here `depth` times shorter than a batch's round trip. The copies swamp
                    // the samples and land below the recorded minimum, where the percentile
                    // walk (from the minimum up) never counts them: its 75%–99% lines read
                    // 0. Nothing it prints is the batches' latency.
                    report.p50 = None;
                    report.p99 = None;
                }
                Ok(report)
            }
            Client::Redis { requests, .. } => {
                // redis-benchmark has no deadline of its own and waits forever for a
                // reply that never comes; even a slow run here takes well under this.
                let out = run_to_end(&mut cmd, Duration::from_secs(90))?;
                parse_redis_csv(&out, *requests)
            }
        }
    }
}

/// Why `kind`'s client cannot run here, or `None` when it can.
pub(crate) fn missing(kind: Kind) -> Option<String> {
    let (program, probe, package) = match kind {
        Kind::Http => ("wrk", "-v", "wrk"),
        Kind::Resp => ("redis-benchmark", "--version", "redis-tools"),
    };
    // Starting is enough: wrk exits 1 after printing its version.
    match Command::new(program).arg(probe).output() {
        Ok(_) => None,
        Err(e) => Some(format!(
            "`{program}` cannot be started ({e}); `cargo xtask bench` installs Debian's \
             `{package}` when it is missing"
        )),
    }
}

/// The wrk script that sends `depth` requests in one write: wrk has no pipelining flag.
fn script_path(depth: usize) -> PathBuf {
    std::env::temp_dir().join(format!(
        "eddy-bench-{}-pipeline-{depth}.lua",
        std::process::id()
    ))
}

/// The pipelining script on disk for one run; removed when dropped.
struct Script(PathBuf);

impl Script {
    fn write(depth: usize) -> Result<Script, String> {
        let path = script_path(depth);
        // wrk's latency for a pipelined request is the whole batch's: it records once when
        // the last of the `depth` responses has arrived.
        let lua = format!(
            "-- eddy-bench: {depth} GET / requests in one write.\n\
             init = function(args)\n  \
               local r = {{}}\n  \
               for i = 1, {depth} do r[i] = wrk.format(nil, \"/\") end\n  \
               batch = table.concat(r)\n\
             end\n\
             request = function() return batch end\n"
        );
        std::fs::write(&path, lua)
            .map_err(|e| format!("writing wrk's script {}: {e}", path.display()))?;
        Ok(Script(path))
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs `cmd` until it exits or `limit` passes (then kills it), and returns its stdout;
/// a failure says what it printed on stderr.
fn run_to_end(cmd: &mut Command, limit: Duration) -> Result<String, String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program} could not start: {e}"))?;
    let pipe = |mut r: Box<dyn Read + Send>| {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            let _ = tx.send(String::from_utf8_lossy(&s).into_owned());
        });
        rx
    };
    let stdout = pipe(Box::new(child.stdout.take().expect("stdout is piped")));
    let stderr = pipe(Box::new(child.stderr.take().expect("stderr is piped")));
    // The client closes its stdout when it exits: waiting for that is waiting for the end.
    let Ok(out) = stdout.recv_timeout(limit) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "{program} did not finish within {limit:?}: killed (a server that stopped \
             answering?)"
        ));
    };
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {program}: {e}"))?;
    let err = stderr.recv().unwrap_or_default();
    if !status.success() {
        return Err(format!("{program} exited with {status}: {}", err.trim()));
    }
    if let Some(line) = err
        .lines()
        .find(|l| l.to_ascii_lowercase().contains("error"))
    {
        return Err(format!("{program} reported: {}", line.trim()));
    }
    Ok(out)
}

/// Reads wrk's report: `N requests in`, `Requests/sec:`, the 50% and 99% lines of the
/// latency distribution (`--latency`), and the error lines it prints only when there
/// were errors (`Socket errors:`, `Non-2xx or 3xx responses:`).
pub(crate) fn parse_wrk(out: &str) -> Result<Report, String> {
    let (mut requests, mut per_second, mut p50, mut p99) = (None, None, None, None);
    for line in out.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            per_second = rest.trim().parse::<f64>().ok();
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            // "connect 0, read 0, write 0, timeout 0"
            let errors: u64 = rest
                .split(',')
                .filter_map(|p| p.split_whitespace().nth(1)?.parse::<u64>().ok())
                .sum();
            if errors > 0 {
                return Err(format!("wrk saw socket errors: {}", rest.trim()));
            }
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            return Err(format!("wrk saw {} non-2xx or 3xx responses", rest.trim()));
        } else if line.contains(" requests in ") {
            requests = line.split_whitespace().next().and_then(|n| n.parse().ok());
        } else if let Some(rest) = line.strip_prefix("50%") {
            p50 = wrk_time(rest.trim());
        } else if let Some(rest) = line.strip_prefix("99%") {
            p99 = wrk_time(rest.trim());
        }
    }
    // No request takes 0 µs: a 0 is wrk's percentile walk missing samples its correction
    // put below the minimum (see `Client::run`), not a latency.
    let real = |p: Option<Duration>| p.filter(|d| !d.is_zero());
    match (requests, per_second, p50, p99) {
        (Some(0), ..) => Err("wrk completed no request".into()),
        (Some(requests), Some(per_second), Some(_), Some(_)) => Ok(Report {
            requests,
            per_second,
            p50: real(p50),
            p99: real(p99),
        }),
        _ => Err(format!("could not read wrk's report:\n{out}")),
    }
}

/// A wrk time: "812.00us", "1.25ms", "2.01s", "1.50m".
fn wrk_time(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (value, unit) = s.split_at(split);
    let value: f64 = value.parse().ok()?;
    let nanos_per_unit = match unit {
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        _ => return None,
    };
    nanos(value * nanos_per_unit)
}

/// Reads redis-benchmark's `--csv` report (redis-tools 6.2 and later: a header line, then
/// one line per test with `rps` and latency percentiles in milliseconds), `requests` per
/// test. The run's rate is all requests over the time all tests took; its p50 and p99 are
/// the highest of the tests', so no command's latency hides behind another's.
pub(crate) fn parse_redis_csv(out: &str, requests: u64) -> Result<Report, String> {
    let fields = |line: &str| -> Vec<String> {
        line.split(',')
            .map(|f| f.trim().trim_matches('"').to_string())
            .collect()
    };
    let mut lines = out.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .by_ref()
        .map(fields)
        .find(|f| f.first().is_some_and(|h| h == "test"))
        .ok_or_else(|| format!("no CSV header in redis-benchmark's report:\n{out}"))?;
    let column = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            format!("redis-benchmark's CSV has no `{name}` column (it needs redis-tools 6.2+)")
        })
    };
    let (rps, p50, p99) = (
        column("rps")?,
        column("p50_latency_ms")?,
        column("p99_latency_ms")?,
    );
    let (mut seconds, mut worst50, mut worst99) = (0.0, 0.0f64, 0.0f64);
    let mut seen = Vec::new();
    for f in lines.map(fields) {
        let num = |i: usize| -> Result<f64, String> {
            f.get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| format!("unreadable redis-benchmark line: {}", f.join(",")))
        };
        let rate = num(rps)?;
        if rate <= 0.0 {
            return Err(format!("redis-benchmark's {} test answered nothing", f[0]));
        }
        seconds += requests as f64 / rate;
        worst50 = worst50.max(num(p50)?);
        worst99 = worst99.max(num(p99)?);
        seen.push(f[0].clone());
    }
    if let Some(t) = REDIS_TESTS.iter().find(|t| !seen.iter().any(|s| s == *t)) {
        return Err(format!("redis-benchmark's report has no {t} line:\n{out}"));
    }
    let total = requests * seen.len() as u64;
    let ms = |v: f64| nanos(v * 1e6).ok_or_else(|| format!("latency {v} ms out of range"));
    Ok(Report {
        requests: total,
        per_second: total as f64 / seconds,
        p50: Some(ms(worst50)?),
        p99: Some(ms(worst99)?),
    })
}

/// A duration from a count of nanoseconds read as decimal text, rounded to the nearest
/// (`0.303` ms is 303 µs, not the 302.999 µs its binary value would truncate to).
fn nanos(n: f64) -> Option<Duration> {
    (n.is_finite() && n >= 0.0 && n < u64::MAX as f64)
        .then(|| Duration::from_nanos(n.round() as u64))
}
