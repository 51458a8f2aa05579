//! The keys file: who may connect, and as which reach user. It is OpenSSH's authorized_keys syntax,
//! each key naming its user in the standard `environment` option:
//!
//! ```text
//! environment="REACH_USER=mia" ssh-ed25519 AAAAC3Nza… mia@laptop
//! ```
//!
//! The file is read afresh on every authentication, so adding or revoking a key needs no restart.
//! Keys are compared by SHA-256 fingerprint: the comment and the options never take part.

use std::path::Path;

use russh::keys::{HashAlg, PublicKey};

/// One usable line of the keys file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    pub fingerprint: String,
    pub user: String,
    pub line: usize,
}

/// A line that grants nothing, and why: it is logged, never fatal, so one typo locks nobody else out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub line: usize,
    pub why: String,
}

#[derive(Debug, Default)]
pub struct KeysFile {
    pub entries: Vec<KeyEntry>,
    pub skipped: Vec<Skipped>,
}

impl KeysFile {
    pub fn read(path: &Path) -> std::io::Result<KeysFile> {
        Ok(KeysFile::parse(&std::fs::read_to_string(path)?))
    }

    pub fn parse(text: &str) -> KeysFile {
        let mut out = KeysFile::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            match parse_line(trimmed) {
                Ok((fingerprint, user)) => out.entries.push(KeyEntry { fingerprint, user, line }),
                Err(why) => out.skipped.push(Skipped { line, why }),
            }
        }
        // A key listed for two different users is ambiguous: it grants neither.
        let mut clashing = Vec::new();
        for (i, a) in out.entries.iter().enumerate() {
            if let Some(b) = out.entries[..i].iter().find(|b| b.fingerprint == a.fingerprint && b.user != a.user) {
                clashing.push((a.fingerprint.clone(), b.line, a.line));
            }
        }
        for (fp, first, second) in clashing {
            out.entries.retain(|e| e.fingerprint != fp);
            out.skipped.push(Skipped {
                line: second,
                why: format!("key {fp} is also listed for another user on line {first}: neither line grants it"),
            });
        }
        out
    }

    /// The user a verified key logs in as.
    pub fn user_of(&self, key: &PublicKey) -> Option<&KeyEntry> {
        let fp = fingerprint(key);
        self.entries.iter().find(|e| e.fingerprint == fp)
    }
}

pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

fn parse_line(line: &str) -> Result<(String, String), String> {
    let (options, key_text) = if KEY_TYPES.iter().any(|t| line.split_whitespace().next() == Some(*t)) {
        ("", line)
    } else {
        split_options(line)?
    };
    let key = PublicKey::from_openssh(key_text.trim()).map_err(|e| format!("not a public key: {e}"))?;
    let mut user = None;
    for opt in options_iter(options)? {
        let Some(value) = opt.strip_prefix("environment=") else { continue };
        let value = unquote(value)?;
        if let Some(name) = value.strip_prefix("REACH_USER=") {
            if user.is_some() {
                return Err("REACH_USER is set twice".into());
            }
            user = Some(name.to_string());
        }
    }
    let user = user.ok_or("no user: add environment=\"REACH_USER=name\" before the key")?;
    crate::config::validate_user(&user).map_err(|e| format!("user {user:?}: {e}"))?;
    Ok((fingerprint(&key), user))
}

/// Splits `opts key…` where the options may hold quoted spaces.
fn split_options(line: &str) -> Result<(&str, &str), String> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => return Ok((&line[..i], &line[i..])),
            _ => {}
        }
    }
    Err(if quoted { "an option's quote is not closed".into() } else { "no key after the options".into() })
}

/// The comma-separated options, commas inside quotes kept.
fn options_iter(options: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let (mut quoted, mut escaped, mut start) = (false, false, 0);
    for (i, c) in options.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&options[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return Err("an option's quote is not closed".into());
    }
    if start < options.len() {
        out.push(&options[start..]);
    }
    Ok(out)
}

fn unquote(value: &str) -> Result<String, String> {
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return Err(format!("option value {value} must be in double quotes"));
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF+w0O4DKrdK3bmRDLyUtG0/9oIw4zUyNeJH3qe2ZDj6 mia@laptop";
    const ED2: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHvyBRXFnrn0zU2h4U4fDF6S2BDKkcobrfjJMi4S0MVQ tom@desk";

    fn key(text: &str) -> PublicKey {
        PublicKey::from_openssh(text).expect("test key")
    }

    #[test]
    fn a_key_maps_to_its_user_by_fingerprint_whatever_the_comment() {
        let file = KeysFile::parse(&format!("# team\n\nenvironment=\"REACH_USER=mia\" {ED}\n"));
        assert!(file.skipped.is_empty(), "{:?}", file.skipped);
        let other_comment = key(&ED.replace("mia@laptop", "someone-else"));
        let found = file.user_of(&other_comment).expect("same key, other comment");
        assert_eq!((found.user.as_str(), found.line), ("mia", 3));
        assert!(file.user_of(&key(ED2)).is_none());
    }

    #[test]
    fn other_options_and_quoted_commas_are_read_around() {
        let line = format!("no-port-forwarding,command=\"echo a, b\",environment=\"REACH_USER=tom\" {ED2}");
        let file = KeysFile::parse(&line);
        assert_eq!(file.user_of(&key(ED2)).map(|e| e.user.as_str()), Some("tom"));
    }

    #[test]
    fn lines_that_grant_nothing_are_reported_with_their_number() {
        let text = format!(
            "{ED}\nenvironment=\"REACH_USER=bad name\" {ED2}\nenvironment=\"REACH_USER=tom\" ssh-ed25519 AAAAnot-base64\nenvironment=\"REACH_USER=tom {ED2}\n"
        );
        let file = KeysFile::parse(&text);
        assert!(file.entries.is_empty());
        let lines: Vec<usize> = file.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4]);
        assert!(file.skipped[0].why.contains("no user"), "{}", file.skipped[0].why);
        assert!(file.skipped[1].why.contains("bad name"), "{}", file.skipped[1].why);
        assert!(file.skipped[2].why.contains("not a public key"), "{}", file.skipped[2].why);
        assert!(file.skipped[3].why.contains("quote"), "{}", file.skipped[3].why);
    }

    #[test]
    fn a_key_listed_for_two_users_grants_neither() {
        let text = format!("environment=\"REACH_USER=mia\" {ED}\nenvironment=\"REACH_USER=tom\" {ED}\n");
        let file = KeysFile::parse(&text);
        assert!(file.user_of(&key(ED)).is_none());
        assert_eq!(file.skipped.len(), 1);
        assert!(file.skipped[0].why.contains("line 1"), "{}", file.skipped[0].why);
        // The same user twice is only a repeat.
        let text = format!("environment=\"REACH_USER=mia\" {ED}\nenvironment=\"REACH_USER=mia\" {ED}\n");
        assert_eq!(KeysFile::parse(&text).user_of(&key(ED)).map(|e| e.user.as_str()), Some("mia"));
    }

    #[test]
    fn the_user_must_be_given_once() {
        let text = format!("environment=\"REACH_USER=mia\",environment=\"REACH_USER=tom\" {ED}");
        let file = KeysFile::parse(&text);
        assert!(file.entries.is_empty());
        assert!(file.skipped[0].why.contains("twice"));
    }
}
