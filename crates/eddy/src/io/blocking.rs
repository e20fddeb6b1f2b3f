//! Stdio on the blocking pool, for fds the reactor cannot wait on: one job at a time, its
//! buffer owned by the job while it runs, so a dropped future loses nothing (the next call
//! collects the job's outcome).

use std::fs::File;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use crate::task::JoinHandle;

/// The most one job reads or writes.
const CHUNK: usize = 64 * 1024;

/// What a job hands back: its result and its buffer.
type Done = (io::Result<()>, Vec<u8>);

#[derive(Debug)]
pub(super) struct Blocking {
    file: Arc<File>,
    state: State,
}

#[derive(Debug)]
enum State {
    /// No job running and nothing to report; the buffer is kept for the next job.
    Idle(Vec<u8>),
    Busy(JoinHandle<Done>),
    /// A finished read not yet handed out in full: `buf[pos..]`. An empty `buf` is an
    /// end-of-file not yet reported.
    Read {
        buf: Vec<u8>,
        pos: usize,
    },
    /// A finished job's error, not yet reported.
    Failed(io::Error),
}

impl Blocking {
    pub(super) fn new(file: File) -> Blocking {
        Blocking {
            file: Arc::new(file),
            state: State::Idle(Vec::new()),
        }
    }

    /// Runs `op` on the blocking pool with the file and `buf`.
    fn start(&mut self, buf: Vec<u8>, op: fn(&File, &mut Vec<u8>) -> io::Result<()>) {
        let file = Arc::clone(&self.file);
        self.state = State::Busy(crate::spawn_blocking(move || {
            let mut buf = buf;
            let result = op(&file, &mut buf);
            (result, buf)
        }));
    }

    /// Waits for a running job; its outcome becomes the state (`read` tells whether its
    /// buffer holds data read).
    fn poll_job(&mut self, cx: &mut Context<'_>, read: bool) -> Poll<()> {
        if let State::Busy(job) = &mut self.state {
            let (result, buf) = match ready!(Pin::new(job).poll(cx)) {
                Ok(done) => done,
                // The runtime shut down (or the job panicked): say so as an I/O error.
                Err(e) => (Err(io::Error::other(e.to_string())), Vec::new()),
            };
            self.state = match result {
                Err(e) => State::Failed(e),
                Ok(()) if read => State::Read { buf, pos: 0 },
                Ok(()) => State::Idle(buf),
            };
        }
        Poll::Ready(())
    }

    /// Takes a reported error, leaving the state idle.
    fn take_error(&mut self) -> Option<io::Error> {
        match std::mem::replace(&mut self.state, State::Idle(Vec::new())) {
            State::Failed(e) => Some(e),
            other => {
                self.state = other;
                None
            }
        }
    }

    pub(super) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.poll_job(cx, true));
            if let Some(e) = self.take_error() {
                return Poll::Ready(Err(e));
            }
            match &mut self.state {
                State::Read { buf, pos } => {
                    let n = out.len().min(buf.len() - *pos);
                    out[..n].copy_from_slice(&buf[*pos..*pos + n]);
                    *pos += n;
                    if *pos == buf.len() {
                        self.state = State::Idle(std::mem::take(buf));
                    }
                    // `n` is 0 only for the end-of-file a job reported.
                    return Poll::Ready(Ok(n));
                }
                State::Idle(spare) => {
                    let mut buf = std::mem::take(spare);
                    buf.clear();
                    buf.resize(out.len().min(CHUNK), 0);
                    self.start(buf, |mut file, buf| {
                        let n = file.read(buf)?;
                        buf.truncate(n);
                        Ok(())
                    });
                }
                State::Busy(_) | State::Failed(_) => unreachable!("handled above"),
            }
        }
    }

    pub(super) fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_job(cx, false));
        if let Some(e) = self.take_error() {
            return Poll::Ready(Err(e));
        }
        let mut buf = match std::mem::replace(&mut self.state, State::Idle(Vec::new())) {
            State::Idle(buf) | State::Read { buf, .. } => buf,
            State::Busy(_) | State::Failed(_) => unreachable!("handled above"),
        };
        let n = data.len().min(CHUNK);
        buf.clear();
        buf.extend_from_slice(&data[..n]);
        self.start(buf, |mut file, buf| file.write_all(buf));
        // Taken: the bytes are the job's now. Its error comes from the next call.
        Poll::Ready(Ok(n))
    }

    pub(super) fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_job(cx, false));
        match self.take_error() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }
}
