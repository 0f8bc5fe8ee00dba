//! A spawned child of `launch`: waiting for it with a pidfd until the plan's wall-clock limit
//! (reading its stdout and stderr on the same thread), killing its whole pid namespace,
//! reaping it and releasing its cgroups. Builds nothing of the sandbox.

use crate::linux::cgroups::RunCgroup;
// For an unreaped child of ours, so its pid cannot have been reused.
use crate::linux::process::pidfd_open;
use crate::runtime::{Enforcement, ExitStatus, RunOutcome, SandboxError};
use std::fs::File;
use std::io::{self, Read as _};
use std::os::fd::AsRawFd as _;
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
    /// run dies with the child, so they end at once); at the wall-clock limit the whole pid
    /// namespace is killed and the streams are drained the same way.
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
        let mut streams = [(Stream::Stdout, stdout), (Stream::Stderr, stderr)];
        // `wait` passes no streams and needs no buffer. 16 KiB per read: small enough that
        // a run with little output does not pay for zeroing and faulting in a pipe's worth.
        let mut buffer = if streams.iter().any(|(_, file)| file.is_some()) {
            vec![0u8; 16 * 1024]
        } else {
            Vec::new()
        };
        let mut exited = false;
        let mut timed_out = false;
        loop {
            let open: Vec<usize> = (0..2).filter(|at| streams[*at].1.is_some()).collect();
            if exited && open.is_empty() {
                break;
            }
            let left = self.plan_timeout.saturating_sub(self.started.elapsed());
            if left.is_zero() && !timed_out && !exited {
                timed_out = true;
                self.kill();
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
            // After the limit (child killed), poll without a limit: its streams end at once.
            let millis = if timed_out {
                -1
            } else {
                libc::c_int::try_from(left.as_millis().max(1)).unwrap_or(libc::c_int::MAX)
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
                        if !sink(*which, &buffer[..read]) {
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

impl Drop for Running {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill();
            let _ = self.reap();
        }
    }
}
