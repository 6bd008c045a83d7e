//! Faults injected into real `postd-host` processes under load: PostgreSQL restarting or
//! refusing writes, Redis lost (under load, and while refresh tokens rotate), the disk filling
//! up, a platform's brownout, the clock jumping. Each case asserts the invariant the pipeline promises, counted on the
//! platform's side: every accepted post went live exactly once, every refresh token was sent
//! once.
//!
//! The servers that fail are the test's own (a private PostgreSQL cluster, a private
//! `redis-server`, a tmpfs), never the shared ones other suites use. What a case needs and does
//! not find (PostgreSQL 15's server binaries, `redis-server`, root to mount a tmpfs) fails it
//! with a message naming what is missing: nothing here is skipped. Figures: bench/FAULTS.md.

mod brownout;
mod clock_jumps;
mod disk_full;
mod postgres_restart;
mod read_only;
mod redis_lost;
mod refresh_rotation;
mod soak;
mod support;
