//! The RESP server's protocol, without I/O: Redis commands in, replies out, one store per
//! server process.
//!
//! Both request forms of RESP2 are read: multibulk (`*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n`,
//! what clients send) and inline (`PING\r\n`, what a person types and what
//! `redis-benchmark` sends for `PING_INLINE`). The commands are those `redis-benchmark -t
//! ping,set,get` needs, plus the `CONFIG GET save` and `CONFIG GET appendonly` it asks at
//! start and `QUIT`: `PING [message]`, `SET key value` (no options), `GET key`. Anything
//! else is an `-ERR` reply and the connection goes on, as with Redis; a protocol error
//! (a malformed or oversized request) is an `-ERR Protocol error` reply and closes it,
//! since the next request cannot be found after one.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use super::Step;

/// The most arguments one multibulk command may have.
const MAX_ARGS: usize = 1024;
/// The largest request (one command with its arguments) accepted, in bytes.
const MAX_REQUEST: usize = 1 << 20;
/// The longest inline command line.
const MAX_INLINE: usize = 64 * 1024;
/// A length line ("*3\r\n", "$16\r\n") longer than this cannot be valid.
const MAX_LENGTH_LINE: usize = 24;

/// The server's keys and values, shared by every connection; SET and GET take the lock for
/// one map operation each.
#[derive(Default)]
pub(crate) struct Store {
    map: Mutex<HashMap<Vec<u8>, Vec<u8>>>,
}

/// One connection's parser and its handle on the store.
pub(crate) struct Session {
    store: Arc<Store>,
    /// The current command's arguments, as ranges of the input (kept to reuse the memory).
    args: Vec<Range<usize>>,
}

/// Why a request cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ProtocolError(pub(crate) &'static str);

impl Session {
    pub(crate) fn new(store: Arc<Store>) -> Session {
        Session {
            store,
            args: Vec::new(),
        }
    }

    /// Answers the first command of `input`, if it is complete.
    pub(crate) fn step(&mut self, input: &[u8], out: &mut Vec<u8>) -> Step {
        self.args.clear();
        match parse(input, &mut self.args) {
            // An empty inline line or `*0`: nothing to answer, as in Redis.
            Ok(Some(len)) if self.args.is_empty() => Step::Answered { len, close: false },
            Ok(Some(len)) => Step::Answered {
                len,
                close: self.execute(&input[..len], out) == Flow::Close,
            },
            Ok(None) => Step::Incomplete,
            Err(ProtocolError(why)) => {
                out.extend_from_slice(b"-ERR Protocol error: ");
                out.extend_from_slice(why.as_bytes());
                out.extend_from_slice(b"\r\n");
                Step::Rejected
            }
        }
    }

    /// Runs the command whose arguments `self.args` holds as ranges of `request`.
    fn execute(&self, request: &[u8], out: &mut Vec<u8>) -> Flow {
        let arg = |i: usize| &request[self.args[i].clone()];
        let name = arg(0);
        let argc = self.args.len();
        if name.eq_ignore_ascii_case(b"PING") {
            match argc {
                1 => out.extend_from_slice(b"+PONG\r\n"),
                2 => bulk(out, Some(arg(1))),
                _ => wrong_arity(out, "ping"),
            }
        } else if name.eq_ignore_ascii_case(b"SET") {
            if argc < 3 {
                wrong_arity(out, "set");
                return Flow::Continue;
            }
            if argc > 3 {
                // SET's options (EX, NX, ...) are not served: say so rather than ignore them.
                out.extend_from_slice(b"-ERR syntax error\r\n");
                return Flow::Continue;
            }
            let mut map = self.store.map.lock().unwrap_or_else(|e| e.into_inner());
            match map.get_mut(arg(1)) {
                // Overwrite in place: a steady SET of one key allocates nothing.
                Some(v) => {
                    v.clear();
                    v.extend_from_slice(arg(2));
                }
                None => {
                    map.insert(arg(1).to_vec(), arg(2).to_vec());
                }
            }
            drop(map);
            out.extend_from_slice(b"+OK\r\n");
        } else if name.eq_ignore_ascii_case(b"GET") {
            if argc != 2 {
                wrong_arity(out, "get");
            } else {
                let map = self.store.map.lock().unwrap_or_else(|e| e.into_inner());
                bulk(out, map.get(arg(1)).map(Vec::as_slice));
            }
        } else if name.eq_ignore_ascii_case(b"CONFIG") {
            if argc == 3 && arg(1).eq_ignore_ascii_case(b"GET") {
                config_get(out, arg(2));
            } else {
                out.extend_from_slice(b"-ERR only CONFIG GET is served\r\n");
            }
        } else if name.eq_ignore_ascii_case(b"QUIT") {
            out.extend_from_slice(b"+OK\r\n");
            return Flow::Close;
        } else {
            out.extend_from_slice(b"-ERR unknown command '");
            // Echo the name, but only printable bytes of it and not too many.
            out.extend(
                name.iter()
                    .take(64)
                    .map(|&b| if b.is_ascii_graphic() { b } else { b'?' }),
            );
            out.extend_from_slice(b"'\r\n");
        }
        Flow::Continue
    }
}

#[derive(PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// `CONFIG GET`: the two parameters redis-benchmark asks about, each as a name/value
/// pair, as Redis answers; an empty array for every other pattern.
fn config_get(out: &mut Vec<u8>, pattern: &[u8]) {
    let value: &[u8] = if pattern.eq_ignore_ascii_case(b"save") {
        b""
    } else if pattern.eq_ignore_ascii_case(b"appendonly") {
        b"no"
    } else {
        out.extend_from_slice(b"*0\r\n");
        return;
    };
    out.extend_from_slice(b"*2\r\n");
    bulk(out, Some(pattern));
    bulk(out, Some(value));
}

fn wrong_arity(out: &mut Vec<u8>, command: &str) {
    out.extend_from_slice(b"-ERR wrong number of arguments for '");
    out.extend_from_slice(command.as_bytes());
    out.extend_from_slice(b"' command\r\n");
}

/// A bulk string reply, or the null bulk string for `None`.
fn bulk(out: &mut Vec<u8>, value: Option<&[u8]>) {
    let Some(v) = value else {
        out.extend_from_slice(b"$-1\r\n");
        return;
    };
    out.push(b'$');
    push_decimal(out, v.len());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
}

fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// The first command in `input`: its length in bytes, with its arguments pushed onto
/// `args` as ranges of `input`; `Ok(None)` while it is incomplete.
pub(crate) fn parse(
    input: &[u8],
    args: &mut Vec<Range<usize>>,
) -> Result<Option<usize>, ProtocolError> {
    match input.first() {
        None => Ok(None),
        Some(b'*') => parse_multibulk(input, args),
        Some(_) => parse_inline(input, args),
    }
}

fn parse_inline(
    input: &[u8],
    args: &mut Vec<Range<usize>>,
) -> Result<Option<usize>, ProtocolError> {
    let Some(nl) = input.iter().position(|&b| b == b'\n') else {
        return if input.len() > MAX_INLINE {
            Err(ProtocolError("too big inline request"))
        } else {
            Ok(None)
        };
    };
    let line = &input[..nl];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut i = 0;
    while i < line.len() {
        if line[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < line.len() && !line[i].is_ascii_whitespace() {
            i += 1;
        }
        if args.len() == MAX_ARGS {
            return Err(ProtocolError("too many arguments"));
        }
        args.push(start..i);
    }
    Ok(Some(nl + 1))
}

fn parse_multibulk(
    input: &[u8],
    args: &mut Vec<Range<usize>>,
) -> Result<Option<usize>, ProtocolError> {
    let Some((count, mut pos)) = length_line(input, 0, "invalid multibulk length")? else {
        return Ok(None);
    };
    if count > MAX_ARGS as i64 {
        return Err(ProtocolError("invalid multibulk length"));
    }
    // `*0` and `*-1` are empty commands: consumed, nothing to run.
    for _ in 0..count.max(0) {
        match input.get(pos) {
            None => return Ok(None),
            Some(b'$') => {}
            Some(_) => return Err(ProtocolError("expected '$'")),
        }
        let Some((len, start)) = length_line(input, pos, "invalid bulk length")? else {
            return Ok(None);
        };
        let len = usize::try_from(len)
            .ok()
            .filter(|&l| start + l <= MAX_REQUEST)
            .ok_or(ProtocolError("invalid bulk length"))?;
        let end = start + len;
        if input.len() < end + 2 {
            return Ok(None);
        }
        if &input[end..end + 2] != b"\r\n" {
            return Err(ProtocolError("bulk string not ended by CRLF"));
        }
        args.push(start..end);
        pos = end + 2;
    }
    Ok(Some(pos))
}

/// Reads the "*N\r\n" or "$N\r\n" line at `at`: N and where the next line starts.
fn length_line(
    input: &[u8],
    at: usize,
    what: &'static str,
) -> Result<Option<(i64, usize)>, ProtocolError> {
    let rest = &input[at + 1..];
    let Some(cr) = rest
        .iter()
        .take(MAX_LENGTH_LINE + 1)
        .position(|&b| b == b'\r')
    else {
        return if rest.len() > MAX_LENGTH_LINE {
            Err(ProtocolError(what))
        } else {
            Ok(None)
        };
    };
    match rest.get(cr + 1) {
        None => return Ok(None),
        Some(b'\n') => {}
        Some(_) => return Err(ProtocolError(what)),
    }
    let digits = &rest[..cr];
    let (negative, digits) = match digits.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, digits),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ProtocolError(what));
    }
    let n = digits
        .iter()
        .try_fold(0i64, |n, &d| {
            n.checked_mul(10)?.checked_add(i64::from(d - b'0'))
        })
        .ok_or(ProtocolError(what))?;
    Ok(Some((if negative { -n } else { n }, at + 1 + cr + 2)))
}
