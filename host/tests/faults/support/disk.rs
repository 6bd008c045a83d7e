//! A small real filesystem (tmpfs) to fill up: the data directory of a SQLite host on it, and a
//! filler file that takes whatever space is left until the case frees it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::run;

/// A mounted tmpfs; unmounted (lazily, should a process still hold a file) when dropped.
pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts a tmpfs of `megabytes` on a fresh directory. Needs root (or CAP_SYS_ADMIN).
    pub fn mount(megabytes: u32) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={megabytes}m,mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .expect("running mount");
        assert!(
            mounted.status.success(),
            "mounting a {megabytes} MiB tmpfs failed (the disk-full case needs root or \
             CAP_SYS_ADMIN): {}",
            String::from_utf8_lossy(&mounted.stderr)
        );
        SmallDisk { dir }
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn filler(&self) -> PathBuf {
        self.path().join("filler")
    }

    /// Fills what is left with a file; returns the bytes it took.
    pub fn fill(&self) -> u64 {
        let mut file = std::fs::File::create(self.filler()).unwrap();
        let chunk = vec![0xa5u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            match file.write(&chunk) {
                Ok(0) => return written,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) => return written, // ENOSPC
                Err(e) => panic!("filling the disk: {e}"),
            }
        }
    }

    /// Frees the space the filler took.
    pub fn free(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }

    /// Free bytes now (`df`).
    pub fn available(&self) -> u64 {
        let out = run(Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(self.path()));
        out.lines().nth(1).unwrap().trim().parse().unwrap()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .output();
    }
}
