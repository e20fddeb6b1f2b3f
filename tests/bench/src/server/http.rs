//! The HTTP/1.1 hello server's protocol, without I/O: requests in, one fixed response each.
//!
//! Every request gets `200 OK` with a 13-byte `text/plain` body, whatever its method and
//! target (`HEAD` gets the head alone). The parser takes as many complete requests as the
//! input holds, so a pipelined burst read at once is answered at once; an incomplete
//! request waits for the next read. Connections stay open (HTTP/1.1's default, or an
//! HTTP/1.0 `Connection: keep-alive`) until the client closes them or asks to.
//!
//! It is strict where being lenient would mean guessing: lines end in CRLF, a request
//! body needs `Content-Length` (`Transfer-Encoding` is answered 501, since this server
//! reads no chunked bodies), obsolete line folding is a 400. An error response closes the
//! connection, because after a malformed request the next one cannot be found.

use super::Step;

/// The longest request head (request line and headers) accepted; longer is a 431.
const MAX_HEAD: usize = 8 * 1024;
/// The largest request body accepted (and skipped); larger is a 413.
const MAX_BODY: usize = 64 * 1024;

const BODY: &[u8] = b"Hello, world!";

/// One connection's parser. HTTP/1.1 keeps no state between requests here, so this is
/// empty; it exists so the protocol has the same shape as RESP's.
#[derive(Default)]
pub(crate) struct Session;

/// What a complete request asks of the response.
struct Request {
    /// Bytes the request took: head and body.
    len: usize,
    head_only: bool,
    keep_alive: bool,
    /// HTTP/1.0: keep-alive must be said in the response.
    http10: bool,
}

/// Why a request cannot be answered with the hello response.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reject {
    BadRequest,
    PayloadTooLarge,
    HeadTooLarge,
    NotImplemented,
    VersionNotSupported,
}

impl Reject {
    fn status_line(&self) -> &'static str {
        match self {
            Reject::BadRequest => "400 Bad Request",
            Reject::PayloadTooLarge => "413 Content Too Large",
            Reject::HeadTooLarge => "431 Request Header Fields Too Large",
            Reject::NotImplemented => "501 Not Implemented",
            Reject::VersionNotSupported => "505 HTTP Version Not Supported",
        }
    }
}

impl Session {
    /// Answers the first request of `input`, if it is complete.
    pub(crate) fn step(&mut self, input: &[u8], out: &mut Vec<u8>) -> Step {
        match parse(input) {
            Ok(Some(req)) => {
                respond(&req, out);
                Step::Answered {
                    len: req.len,
                    close: !req.keep_alive,
                }
            }
            Ok(None) => Step::Incomplete,
            Err(reject) => {
                out.extend_from_slice(b"HTTP/1.1 ");
                out.extend_from_slice(reject.status_line().as_bytes());
                out.extend_from_slice(b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                Step::Rejected
            }
        }
    }
}

fn respond(req: &Request, out: &mut Vec<u8>) {
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n");
    if !req.keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if req.http10 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !req.head_only {
        out.extend_from_slice(BODY);
    }
}

/// The first request in `input`: `Ok(None)` while it is incomplete.
fn parse(input: &[u8]) -> Result<Option<Request>, Reject> {
    let Some(head_len) = find(input, b"\r\n\r\n").map(|i| i + 4) else {
        return if input.len() > MAX_HEAD {
            Err(Reject::HeadTooLarge)
        } else {
            Ok(None)
        };
    };
    if head_len > MAX_HEAD {
        return Err(Reject::HeadTooLarge);
    }
    // The head without its final CRLF: CRLF-terminated lines, the request line first.
    let mut lines = input[..head_len - 2].split(|&b| b == b'\n');
    let request_line = crlf_line(lines.next())?;
    let mut parts = request_line.split(|&b| b == b' ');
    let (method, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(target), Some(v), None) if is_token(m) && !target.is_empty() => (m, v),
        _ => return Err(Reject::BadRequest),
    };
    let http10 = match version {
        b"HTTP/1.1" => false,
        b"HTTP/1.0" => true,
        v if v.starts_with(b"HTTP/") => return Err(Reject::VersionNotSupported),
        _ => return Err(Reject::BadRequest),
    };
    let mut keep_alive = !http10;
    let mut content_length: Option<usize> = None;
    for piece in lines {
        if piece.is_empty() {
            // Splitting "...\r\n" at '\n' leaves one empty piece after the last header.
            continue;
        }
        let line = crlf_line(Some(piece))?;
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(Reject::BadRequest)?;
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if !is_token(name) {
            // Also catches obsolete line folding: a continuation line starts with a space.
            return Err(Reject::BadRequest);
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let n = parse_length(value).ok_or(Reject::BadRequest)?;
            if content_length.is_some_and(|c| c != n) {
                return Err(Reject::BadRequest);
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(Reject::NotImplemented);
        } else if name.eq_ignore_ascii_case(b"connection") {
            for option in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                if option.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if option.eq_ignore_ascii_case(b"keep-alive") && http10 {
                    keep_alive = true;
                }
            }
        }
    }
    let body = content_length.unwrap_or(0);
    if body > MAX_BODY {
        return Err(Reject::PayloadTooLarge);
    }
    if input.len() < head_len + body {
        return Ok(None);
    }
    Ok(Some(Request {
        len: head_len + body,
        head_only: method == b"HEAD",
        keep_alive,
        http10,
    }))
}

/// One piece of the head split at '\n', which must have ended in CRLF.
fn crlf_line(piece: Option<&[u8]>) -> Result<&[u8], Reject> {
    piece
        .and_then(|l| l.strip_suffix(b"\r"))
        .ok_or(Reject::BadRequest)
}

/// Where `needle` first occurs in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// RFC 9110's `token`: what a method or header name may be made of.
fn is_token(s: &[u8]) -> bool {
    !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A `Content-Length` value: digits only, no sign, no overflow.
fn parse_length(s: &[u8]) -> Option<usize> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0usize, |n, &d| {
        n.checked_mul(10)?.checked_add(usize::from(d - b'0'))
    })
}
