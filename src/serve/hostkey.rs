//! The server's host key: made on first start, kept in the data dir (0600), the same ever after,
//! so clients never see "host key changed".

use std::io::{Read, Write};
use std::path::Path;

use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData};
use russh::keys::ssh_key::LineEnding;
use russh::keys::PrivateKey;

/// An Ed25519 key from 32 bytes of the OS's randomness.
pub fn random_ed25519(comment: &str) -> std::io::Result<PrivateKey> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    let key = PrivateKey::new(KeypairData::Ed25519(Ed25519Keypair::from_seed(&seed)), comment)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(key)
}

/// Reads the key at `path`, or makes one there; true when it was made now.
pub fn load_or_create(path: &Path) -> anyhow::Result<(PrivateKey, bool)> {
    if path.exists() {
        private(path)?;
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("host key {}: {e}", path.display()))?;
        let key = PrivateKey::from_openssh(&text)
            .map_err(|e| anyhow::anyhow!("host key {}: not an OpenSSH private key: {e}", path.display()))?;
        return Ok((key, false));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let key = random_ed25519("reach serve host key")?;
    let text = key.to_openssh(LineEnding::LF).map_err(|e| anyhow::anyhow!("host key: {e}"))?;
    create_private(path, text.as_bytes()).map_err(|e| anyhow::anyhow!("host key {}: {e}", path.display()))?;
    Ok((key, true))
}

/// Creates `path`, which must not exist yet, readable by this user only, with `bytes` in it.
pub fn create_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = opts.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// A host key others can read is a host key others can use: it is made private again.
fn private(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            tracing::warn!(file = %path.display(), "host key was readable by others; made private (0600)");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_key_is_made_once_private_and_then_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ssh_host_ed25519_key");
        let (first, made) = load_or_create(&path).expect("made");
        assert!(made);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, made) = load_or_create(&path).expect("read back");
        assert!(!made);
        assert_eq!(first.public_key(), again.public_key());
    }

    #[test]
    fn a_broken_host_key_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("key");
        std::fs::write(&path, "not a key").expect("write");
        let err = load_or_create(&path).expect_err("refused").to_string();
        assert!(err.contains("key") && err.contains(&path.display().to_string()), "{err}");
    }
}
