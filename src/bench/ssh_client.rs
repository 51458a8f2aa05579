//! An SSH client whose screen is a terminal emulator: `reach bench serve`'s clients, and the
//! `reach serve` tests' (tests/serve.rs includes this file). It uses no item of reach itself, so
//! it compiles in both.

use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use russh::client::{self, AuthResult, Handle};
use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData};
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{ChannelMsg, ChannelWriteHalf};

/// A client key from a fixed seed: the same user has the same key in every run.
pub fn key(seed: u8) -> PrivateKey {
    let pair = Ed25519Keypair::from_seed(&[seed; 32]);
    // Only fails for a comment too long to encode; this one is short.
    PrivateKey::new(KeypairData::Ed25519(pair), format!("key{seed}@test")).expect("an ed25519 key from a seed")
}

/// The key's public half as a keys-file line takes it.
pub fn openssh(key: &PrivateKey) -> String {
    key.public_key().to_openssh().unwrap_or_default()
}

/// Trusts only the server whose host key has this fingerprint.
pub struct Client {
    host_key: String,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else { return Ok(false) };
        Ok(key.fingerprint(russh::keys::HashAlg::Sha256).to_string() == self.host_key)
    }
}

pub async fn connect(addr: SocketAddr, host_key: &str) -> Result<Handle<Client>, russh::Error> {
    // Keystrokes are tiny packets: Nagle would hold each one back for the previous one's ACK.
    let config = Arc::new(client::Config { nodelay: true, ..Default::default() });
    client::connect(config, addr, Client { host_key: host_key.to_string() }).await
}

/// Logs in with `seed`'s key. The SSH user name is never the identity: every client says "root".
pub async fn login(handle: &mut Handle<Client>, seed: u8) -> Result<AuthResult, russh::Error> {
    let key = PrivateKeyWithHashAlg::new(Arc::new(key(seed)), None);
    handle.authenticate_publickey("root", key).await
}

/// What a client's terminal was sent, and how its channel ended.
#[derive(Default)]
pub struct Seen {
    pub raw: Vec<u8>,
    pub exit: Option<u32>,
    pub closed: bool,
}

pub struct Term {
    pub handle: Handle<Client>,
    pub w: ChannelWriteHalf<client::Msg>,
    pub screen: Arc<Mutex<vt100::Parser>>,
    pub seen: Arc<Mutex<Seen>>,
}

fn size(n: u32) -> NonZeroU16 {
    NonZeroU16::new(n.clamp(1, u16::MAX as u32) as u16).unwrap_or(NonZeroU16::MIN)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Term {
    /// Opens a session channel on a logged-in connection: with a `cols`x`rows` pty, or none.
    pub async fn shell(handle: Handle<Client>, pty: Option<(u32, u32)>) -> Result<Term, russh::Error> {
        let channel = handle.channel_open_session().await?;
        let (cols, rows) = pty.unwrap_or((80, 24));
        if pty.is_some() {
            channel.request_pty(true, "xterm-256color", cols, rows, 0, 0, &[]).await?;
        }
        channel.request_shell(true).await?;
        let (mut r, w) = channel.split();
        let screen = Arc::new(Mutex::new(vt100::Parser::new(size(rows), size(cols), 0)));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (screen2, seen2) = (Arc::clone(&screen), Arc::clone(&seen));
        tokio::spawn(async move {
            while let Some(msg) = r.wait().await {
                match msg {
                    ChannelMsg::Data { data } => {
                        lock(&screen2).process(&data);
                        lock(&seen2).raw.extend_from_slice(&data);
                    }
                    ChannelMsg::ExitStatus { exit_status } => lock(&seen2).exit = Some(exit_status),
                    ChannelMsg::Close => break,
                    _ => {}
                }
            }
            lock(&seen2).closed = true;
        });
        Ok(Term { handle, w, screen, seen })
    }

    /// Connects, logs in with `seed`'s key and opens the TUI in a `cols`x`rows` pty.
    pub async fn open(addr: SocketAddr, host_key: &str, seed: u8, cols: u32, rows: u32) -> anyhow::Result<Term> {
        let mut handle = connect(addr, host_key).await?;
        anyhow::ensure!(login(&mut handle, seed).await?.success(), "the key of seed {seed} was refused");
        Ok(Term::shell(handle, Some((cols, rows))).await?)
    }

    pub fn text(&self) -> String {
        lock(&self.screen).screen().contents()
    }

    /// Everything the server sent, as text.
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&lock(&self.seen).raw).into_owned()
    }

    pub fn exit(&self) -> Option<u32> {
        lock(&self.seen).exit
    }

    pub fn closed(&self) -> bool {
        lock(&self.seen).closed
    }

    /// The emulator's own window, resized as the client's would be.
    pub fn set_size(&self, cols: u32, rows: u32) {
        lock(&self.screen).screen_mut().set_size(size(rows), size(cols));
    }

    pub async fn send(&self, bytes: &[u8]) -> Result<(), russh::Error> {
        self.w.data_bytes(bytes.to_vec()).await
    }

    /// Types keys one by one, as a person would.
    pub async fn keys(&self, text: &str) -> Result<(), russh::Error> {
        for c in text.chars() {
            self.send(c.to_string().as_bytes()).await?;
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        Ok(())
    }

    /// Waits until the screen satisfies `ok`: how long it took, or None after `within`.
    pub async fn wait_until(&self, within: Duration, ok: impl Fn(&str) -> bool) -> Option<Duration> {
        let start = Instant::now();
        loop {
            if ok(&self.text()) {
                return Some(start.elapsed());
            }
            if start.elapsed() > within {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Whether the list's cursor (a row drawn on a coloured background) is on `name`'s row.
    pub fn cursor_on(&self, name: &str) -> bool {
        let parser = lock(&self.screen);
        let screen = parser.screen();
        let text = screen.contents();
        let Some((row, line)) = text.lines().enumerate().find(|(_, l)| l.contains(name)) else { return false };
        let col = line[..line.find(name).unwrap_or(0)].chars().count();
        screen.cell(row as u16, col as u16).is_some_and(|c| c.bgcolor() != vt100::Color::Default)
    }
}

/// The line of the screen that shows `name`.
pub fn row_of<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(name))
}

/// The list's first lead row: the line after its header.
pub fn first_row(screen: &str) -> Option<&str> {
    let mut lines = screen.lines();
    lines.by_ref().find(|l| l.contains("NAME") && l.contains("USERNAME"))?;
    lines.next()
}
