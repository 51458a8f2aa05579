//! Advisory OS file locks (`flock`), which belong to an open file and go with the process however
//! it ends. Two opens of one file, even in one process, lock against each other. Elsewhere than
//! unix, locking is a no-op that always succeeds.

use std::fs::File;
use std::path::Path;

/// Opens a file to lock, creating it empty and private (0600) if it is not there.
pub fn open(path: &Path) -> std::io::Result<File> {
    let mut opts = File::options();
    opts.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)
}

/// Waits for an exclusive lock.
pub fn exclusive(file: &File) -> std::io::Result<()> {
    imp::flock(file, imp::EXCLUSIVE).map(drop)
}

/// Waits for a shared lock.
pub fn shared(file: &File) -> std::io::Result<()> {
    imp::flock(file, imp::SHARED).map(drop)
}

/// Takes an exclusive lock if no one holds any: false when someone does.
pub fn try_exclusive(file: &File) -> std::io::Result<bool> {
    imp::flock(file, imp::EXCLUSIVE | imp::NO_WAIT)
}

pub fn unlock(file: &File) -> std::io::Result<()> {
    imp::flock(file, imp::UNLOCK).map(drop)
}

#[cfg(unix)]
mod imp {
    use std::os::fd::AsRawFd;

    pub const EXCLUSIVE: i32 = libc::LOCK_EX;
    pub const SHARED: i32 = libc::LOCK_SH;
    pub const NO_WAIT: i32 = libc::LOCK_NB;
    pub const UNLOCK: i32 = libc::LOCK_UN;

    /// False only when a non-waiting lock is held by someone else.
    pub fn flock(file: &std::fs::File, op: i32) -> std::io::Result<bool> {
        // SAFETY: flock on a descriptor owned by `file`, which outlives the call; no memory effects.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        if op & NO_WAIT != 0 && e.raw_os_error() == Some(libc::EWOULDBLOCK) {
            Ok(false)
        } else {
            Err(e)
        }
    }
}

#[cfg(not(unix))]
mod imp {
    pub const EXCLUSIVE: i32 = 1;
    pub const SHARED: i32 = 2;
    pub const NO_WAIT: i32 = 4;
    pub const UNLOCK: i32 = 8;

    pub fn flock(_file: &std::fs::File, _op: i32) -> std::io::Result<bool> {
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn a_shared_lock_keeps_out_an_exclusive_one_until_it_is_let_go() {
        let dir = tempfile::tempdir().unwrap();
        let open = || File::options().create(true).truncate(false).write(true).open(dir.path().join("f")).unwrap();
        let (a, b) = (open(), open());
        assert!(try_exclusive(&b).unwrap());
        unlock(&b).unwrap();
        shared(&a).unwrap();
        assert!(!try_exclusive(&b).unwrap(), "a second open of the file is refused");
        unlock(&a).unwrap();
        assert!(try_exclusive(&b).unwrap());
        exclusive(&b).unwrap();
    }
}
