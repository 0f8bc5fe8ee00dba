//! A spawned child of `launch`: waiting for it with a pidfd (reading its stdout and stderr on
//! the same thread) while its whole pid namespace is killed at the plan's wall-clock limit
//! (by this thread, and once output flows by a watchdog thread too, whatever the output's
//! reader does); reaping it and releasing its cgroups.
//! Builds nothing of the sandbox.

use crate::linux::cgroups::RunCgroup;
// For an unreaped child of ours, so its pid cannot have been reused.
use crate::linux::process::{pidfd_kill, pidfd_open};
use crate::runtime::{Enforcement, ExitStatus, RunOutcome, SandboxError};
use std::fs::File;
use std::io::{self, Read as _};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A spawned child: reaped (and its cgroups removed) by `wait`, or killed on drop.
pub(crate) struct Running {
    pub(super) pid: libc::pid_t,
    pub(super) reaped: bool,
    pub(super) cgroup: Option<RunCgroup>,
    pub(super) started: Instant,
    pub(super) plan_timeout: std::time::Duration,
    pub(super) enforcement: Enforcement,
}

impl Running {
    pub(crate) fn pid(&self) -> i32 {
        self.pid
    }

    /// When the plan's wall-clock limit ends the run.
    pub(crate) fn deadline(&self) -> Instant {
        self.started + self.plan_timeout
    }

    /// Kills and reaps the child after a failed setup; returns `error`.
    pub(super) fn abort(mut self, error: SandboxError) -> SandboxError {
        self.kill();
        let _ = self.reap();
        error
    }

    fn kill(&self) {
        if !self.reaped {
            // SAFETY: kill takes integers; `pid` is our unreaped child, so the pid cannot have
            // been reused. SIGKILL to the pid namespace's init kills every process inside.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
    }

    fn reap(&mut self) -> io::Result<libc::c_int> {
        let mut status = 0;
        loop {
            // SAFETY: `status` is a writable c_int; `pid` is our child.
            let result = unsafe { libc::waitpid(self.pid, &raw mut status, 0) };
            if result == self.pid {
                break;
            }
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        }
        self.reaped = true;
        if let Some(cgroup) = self.cgroup.take() {
            cgroup.release();
        }
        Ok(status)
    }

    /// Waits up to the plan's wall-clock limit (measured from spawn), then kills the whole
    /// pid namespace.
    pub(crate) fn wait(self) -> Result<RunOutcome, SandboxError> {
        self.wait_streaming(None, None, &mut |_, _| true)
    }
}

/// Which of the child's output streams a chunk came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// stdout.
    Stdout,
    /// stderr.
    Stderr,
}

impl Running {
    /// Waits like [`wait`](Self::wait) while reading `stdout` and `stderr` on this thread: each
    /// chunk goes to `sink`; a `false` from it closes that stream (the child then gets EPIPE).
    /// Returns once the child has exited and both streams have ended (every process of the
    /// run dies with the child, so they end at once); at the wall-clock limit a watchdog
    /// thread kills the whole pid namespace, whether or not `sink` returns, and the streams
    /// are drained the same way.
    pub(crate) fn wait_streaming(
        mut self,
        stdout: Option<File>,
        stderr: Option<File>,
        sink: &mut dyn FnMut(Stream, &[u8]) -> bool,
    ) -> Result<RunOutcome, SandboxError> {
        let wait_error = |source: io::Error| SandboxError::Layer {
            layer: "wait",
            detail: String::new(),
            source,
        };
        let pidfd = pidfd_open(self.pid).map_err(wait_error)?;
        let deadline = self.deadline();
        // Until `sink` is first called this thread kills at the deadline itself. From then on
        // the wall-clock limit is also a watchdog's, on a descriptor of its own: a `sink`
        // that blocks (a reader that never reads) holds up this thread, never the kill. A
        // run that prints nothing costs no thread.
        let mut watchdog: Option<Watchdog> = None;
        let mut killed_here = false;
        let mut streams = [(Stream::Stdout, stdout), (Stream::Stderr, stderr)];
        // `wait` passes no streams and needs no buffer. 16 KiB per read: small enough that
        // a run with little output does not pay for zeroing and faulting in a pipe's worth.
        let mut buffer = if streams.iter().any(|(_, file)| file.is_some()) {
            vec![0u8; 16 * 1024]
        } else {
            Vec::new()
        };
        let mut exited = false;
        let backstop = deadline + std::time::Duration::from_secs(1);
        let mut backstop_fired = false;
        loop {
            if !exited && !killed_here && watchdog.is_none() && Instant::now() >= deadline {
                killed_here = kill_unless_ended(&pidfd).map_err(wait_error)?;
            }
            let open: Vec<usize> = (0..2).filter(|at| streams[*at].1.is_some()).collect();
            if exited && open.is_empty() {
                break;
            }
            let mut polls: Vec<libc::pollfd> = open
                .iter()
                .filter_map(|at| streams[*at].1.as_ref())
                .map(|file| libc::pollfd {
                    fd: file.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                })
                .collect();
            if !exited {
                polls.push(libc::pollfd {
                    fd: pidfd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                });
            }
            // The child ends by itself or by the watchdog, and its streams end with it (every
            // process of the run dies with its pid namespace). Should the watchdog have failed
            // to kill it, this thread kills it a second after the deadline.
            let left = backstop.saturating_duration_since(Instant::now());
            if left.is_zero() && !exited && !backstop_fired {
                backstop_fired = true;
                self.kill();
            }
            // Without a watchdog this thread wakes at the deadline (rounded up, never before
            // it) to kill; with one, at the backstop.
            let wake = if watchdog.is_none() && !killed_here {
                deadline.saturating_duration_since(Instant::now())
            } else {
                left
            };
            let millis = if backstop_fired || exited {
                -1
            } else {
                libc::c_int::try_from(wake.as_micros().div_ceil(1000).max(1))
                    .unwrap_or(libc::c_int::MAX)
            };
            let count = libc::nfds_t::try_from(polls.len()).unwrap_or(0);
            // SAFETY: `polls` is a live array of `count` pollfds.
            let ready = unsafe { libc::poll(polls.as_mut_ptr(), count, millis) };
            if ready < 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(wait_error(error));
            }
            for (slot, poll) in open.iter().zip(&polls) {
                if poll.revents == 0 {
                    continue;
                }
                let (which, file) = &mut streams[*slot];
                let Some(reader) = file.as_mut() else {
                    continue;
                };
                match reader.read(&mut buffer) {
                    Ok(0) => *file = None,
                    Ok(read) => {
                        if watchdog.is_none() && !exited && !killed_here {
                            watchdog = Some(
                                Watchdog::start(pidfd.try_clone().map_err(wait_error)?, deadline)
                                    .map_err(wait_error)?,
                            );
                        }
                        if !sink(*which, &buffer[..read]) {
                            // A sink that gave up at the deadline: the kill comes before the
                            // stream closes, so a run over its limit always ends by the kill,
                            // never by an `EPIPE` a moment earlier (racing the watchdog).
                            if !exited && !killed_here && Instant::now() >= deadline {
                                killed_here = kill_unless_ended(&pidfd).map_err(wait_error)?;
                            }
                            *file = None;
                        }
                    }
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => *file = None,
                }
            }
            if !exited && polls.last().is_some_and(|poll| poll.revents != 0) {
                exited = true;
            }
        }
        let watchdog_fired = match watchdog {
            Some(watchdog) => watchdog.finish().map_err(wait_error)?,
            None => false,
        };
        let timed_out = watchdog_fired || killed_here || backstop_fired;
        let status = self.reap().map_err(wait_error)?;
        let exit = if libc::WIFSIGNALED(status) {
            ExitStatus::Signal(libc::WTERMSIG(status))
        } else {
            ExitStatus::Code(libc::WEXITSTATUS(status))
        };
        Ok(RunOutcome {
            exit,
            timed_out,
            enforcement: self.enforcement.clone(),
        })
    }
}

/// Kills a child's pid namespace at its deadline, on a thread of its own: it waits on a pidfd
/// of its own (readable once the child has ended) until the deadline, and signals through it,
/// so it can never signal a reused pid.
struct Watchdog {
    thread: std::thread::JoinHandle<io::Result<()>>,
    fired: Arc<AtomicBool>,
}

impl Watchdog {
    fn start(pidfd: OwnedFd, deadline: Instant) -> io::Result<Self> {
        let fired = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&fired);
        let thread = std::thread::Builder::new()
            .name("aegisclaw-timeout".to_string())
            .spawn(move || {
                // 1. Wait for the child's end or the deadline, whichever comes first.
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let millis =
                        libc::c_int::try_from(left.as_millis()).unwrap_or(libc::c_int::MAX);
                    if poll_readable(&pidfd, millis)? {
                        return Ok(());
                    }
                    if left.is_zero() {
                        break;
                    }
                }
                // 2. The deadline passed with the child alive: kill it.
                if kill_unless_ended(&pidfd)? {
                    flag.store(true, Ordering::SeqCst);
                }
                Ok(())
            })?;
        Ok(Self { thread, fired })
    }

    /// Once the child has ended: whether the watchdog killed it.
    fn finish(self) -> io::Result<bool> {
        match self.thread.join() {
            Ok(result) => result?,
            Err(_) => return Err(io::Error::other("the timeout watchdog panicked")),
        }
        Ok(self.fired.load(Ordering::SeqCst))
    }
}

/// At the deadline: SIGKILL through `pidfd` to the child, its pid namespace's init, which
/// kills every process inside, unless the child has already ended; `true` when it was killed.
fn kill_unless_ended(pidfd: &OwnedFd) -> io::Result<bool> {
    if poll_readable(pidfd, 0)? {
        return Ok(false);
    }
    // Reaped just now (`false`): it was not stopped by the limit.
    pidfd_kill(pidfd)
}

/// Polls one descriptor for `POLLIN` for up to `millis`; `true` when it is readable.
fn poll_readable(fd: &OwnedFd, millis: libc::c_int) -> io::Result<bool> {
    let mut poll = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: `poll` is one live pollfd.
        let ready = unsafe { libc::poll(&raw mut poll, 1, millis) };
        if ready >= 0 {
            return Ok(ready > 0);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill();
            let _ = self.reap();
        }
    }
}
