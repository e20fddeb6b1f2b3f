//! The native stack of a thread caught in a slow poll: the frames a report carries, how they
//! print, and (with `native-stacks`, on Linux) symbolising the captured addresses.

use std::fmt;
use std::path::{Path, PathBuf};

/// The native stack of the thread running a slow poll, captured while the poll ran
/// (docs/debugging.md, "Where a stuck thread is"). Innermost frame first, starting at the
/// frame the thread was interrupted in (the capture's own frames are left out).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct NativeStack {
    /// Every frame, innermost first; an inlined call is a frame of its own, before the
    /// frame it was inlined into.
    pub frames: Vec<Frame>,
    /// The index in `frames` of the first frame outside the standard library, eddy and
    /// the C library, if there is one: usually the line that blocks.
    pub user_index: Option<usize>,
}

/// One frame of a [`NativeStack`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Frame {
    /// The instruction address (a return address for every frame but the first).
    pub ip: usize,
    /// The function, demangled without its hash; `None` without symbols.
    pub function: Option<String>,
    /// The source file, from debug info; `None` without it.
    pub file: Option<PathBuf>,
    /// The line in `file`.
    pub line: Option<u32>,
}

/// Frames printed at most when no frame is the user's.
const PRINT_AT_MOST: usize = 24;

#[cfg_attr(
    not(all(feature = "native-stacks", target_os = "linux")),
    allow(
        dead_code,
        reason = "stacks are made only where native stacks are built"
    )
)]
impl Frame {
    /// Whether this is a frame of the standard library, eddy, the C library or an unnamed
    /// one: not where a user looks first. A method's frame counts as its type's, so the
    /// `poll` of a user's `Future` impl is the user's.
    fn is_runtime(&self) -> bool {
        let Some(name) = &self.function else {
            return true;
        };
        let path = name.trim_start_matches(['<', '&', '*']);
        let path = path.strip_prefix("mut ").unwrap_or(path);
        // A C function (libc's `clock_nanosleep`, `start_thread`) has no path; nor does a
        // generic parameter standing for the type (`<F as Future>::poll`).
        !path.contains("::")
            || [
                "std::",
                "core::",
                "alloc::",
                "eddy_",
                "eddy::",
                "backtrace::",
            ]
            .iter()
            .any(|p| path.starts_with(p))
    }

    /// Whether this is a frame of one of eddy's crates.
    fn is_eddy(&self) -> bool {
        self.function.as_deref().is_some_and(|name| {
            let path = name.trim_start_matches(['<', '&', '*']);
            path.starts_with("eddy_") || path.starts_with("eddy::")
        })
    }
}

impl NativeStack {
    /// A stack of `frames`, finding the first user frame.
    #[cfg_attr(
        not(all(feature = "native-stacks", target_os = "linux")),
        allow(
            dead_code,
            reason = "stacks are made only where native stacks are built"
        )
    )]
    pub(crate) fn new(frames: Vec<Frame>) -> NativeStack {
        let user_index = frames.iter().position(|f| !f.is_runtime());
        NativeStack { frames, user_index }
    }

    /// The first frame outside the standard library, eddy and the C library.
    pub fn user_frame(&self) -> Option<&Frame> {
        self.user_index.map(|i| &self.frames[i])
    }

    /// The frames worth printing: down to the user frame and on to the first eddy frame
    /// under it (the poll harness that called it), or the first few if no frame is the
    /// user's.
    fn interesting(&self) -> &[Frame] {
        let end = match self.user_index {
            Some(u) => self.frames[u..]
                .iter()
                .position(Frame::is_eddy)
                .map_or(self.frames.len(), |e| u + e + 1),
            None => self.frames.len().min(PRINT_AT_MOST),
        };
        &self.frames[..end]
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.function {
            Some(name) => write!(f, "{name}")?,
            None => write!(f, "{:#x}", self.ip)?,
        }
        if let Some(file) = &self.file {
            write!(f, "\n             at {}", short_path(file).display())?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
        }
        Ok(())
    }
}

/// Prints the interesting frames (see `interesting`), one per line (no newline after the
/// last), numbered, the user frame marked `=>`, and how many were left out.
impl fmt::Display for NativeStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.interesting();
        for (i, frame) in shown.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let mark = if Some(i) == self.user_index {
                "=>"
            } else {
                "  "
            };
            write!(f, "  {mark} {i:3}: {frame}")?;
        }
        let left = self.frames.len() - shown.len();
        if left > 0 {
            let what = if self.user_index.is_some() {
                " (eddy's poll loop, the thread's start)"
            } else {
                ""
            };
            write!(f, "\n         ... {left} more frame(s){what}")?;
        }
        Ok(())
    }
}

/// A source path as a report prints it: the standard library's without the toolchain's
/// build prefix (`/rustc/<commit>/`), the current directory's relative to it.
fn short_path(file: &Path) -> &Path {
    if let Ok(rest) = file.strip_prefix("/rustc") {
        let mut parts = rest.components();
        parts.next();
        return parts.as_path();
    }
    match std::env::current_dir() {
        Ok(dir) => file.strip_prefix(&dir).unwrap_or(file),
        Err(_) => file,
    }
}

/// Symbolises captured return addresses (innermost first) on the watchdog thread.
#[cfg(all(feature = "native-stacks", target_os = "linux", not(eddy_loom)))]
pub(super) fn resolve(ips: &[usize]) -> NativeStack {
    let mut frames = Vec::with_capacity(ips.len());
    // The unwinder's last frame may be a null return address (the end of the stack).
    for &ip in ips.iter().filter(|&&ip| ip != 0) {
        let before = frames.len();
        // `resolve` looks up `ip - 1`, the call instruction of a return address (for the
        // interrupted frame, the exact address, it is the same instruction or the one
        // before it: the same line in all but rare cases). It reports an inlined call
        // before the function it was inlined into, as a frame of its own.
        backtrace::resolve(ip as *mut std::ffi::c_void, |symbol| {
            frames.push(Frame {
                ip,
                function: symbol.name().map(|n| format!("{n:#}")),
                file: symbol.filename().map(Path::to_path_buf),
                line: symbol.lineno(),
            });
        });
        if frames.len() == before {
            frames.push(Frame {
                ip,
                function: None,
                file: None,
                line: None,
            });
        }
    }
    NativeStack::new(frames)
}
