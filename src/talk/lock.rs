//! One process at a time runs an account: an exclusive OS file lock beside its session. Two
//! processes using one session at once look to Telegram like a duplicated auth key. The lock goes
//! with the process, however it ends (kill -9 included), so nothing has to be cleaned up.

use std::fs::File;
use std::path::{Path, PathBuf};

/// Held for as long as this process runs the account.
#[derive(Debug)]
pub struct AccountLock {
    _file: File,
    pub path: PathBuf,
}

pub fn lock_path(data_dir: &Path, account: &str) -> PathBuf {
    data_dir.join("sessions").join(format!("{account}.lock"))
}

impl AccountLock {
    /// Takes the account's lock, or None when another process (or another runner of this one)
    /// holds it.
    pub fn try_take(data_dir: &Path, account: &str) -> std::io::Result<Option<AccountLock>> {
        let path = lock_path(data_dir, account);
        if let Some(dir) = path.parent() {
            super::private_dir(dir)?;
        }
        let file = crate::flock::open(&path)?;
        if crate::flock::try_exclusive(&file)? {
            Ok(Some(AccountLock { _file: file, path }))
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_free_again_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let a = AccountLock::try_take(dir.path(), "main").unwrap();
        assert!(a.is_some());
        // flock locks belong to the open file: a second open, even in this process, is refused.
        assert!(AccountLock::try_take(dir.path(), "main").unwrap().is_none());
        assert!(AccountLock::try_take(dir.path(), "other").unwrap().is_some());
        drop(a);
        assert!(AccountLock::try_take(dir.path(), "main").unwrap().is_some());
    }
}
