//! Which Telegram a process talks to, and the account plumbing shared by the CLI and the TUI:
//! logging an account in, checking its health, and running a crawl with the right adapter.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::account::{self, AccountRecord};
use super::pool::Account;
use super::{crawl, CrawlError, Event, Options, Sink, Summary};
use crate::config::{TelegramBackend, TelegramConfig};
use crate::model::now_millis;
use crate::store::Store;
use crate::telegram::login::{login, LoginError, Prompt};
use crate::telegram::real::RealAccount;
use crate::telegram::sim::World;
use crate::telegram::{Authenticator, TgError};

/// One simulated world per process, so crawls in the TUI see the joins of earlier ones.
pub fn shared_world() -> Arc<World> {
    static WORLD: OnceLock<Arc<World>> = OnceLock::new();
    Arc::clone(WORLD.get_or_init(|| Arc::new(World::demo())))
}

#[derive(Debug, Clone)]
pub struct Telegram {
    pub backend: TelegramBackend,
    pub config: TelegramConfig,
    pub data_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(String),
    #[error("telegram.api_id and telegram.api_hash must be set in the config to use real accounts (from https://my.telegram.org)")]
    NoApiKeys,
    #[error(transparent)]
    Login(#[from] LoginError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// An account's state for `reach account list`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Health {
    Connected,
    FloodWait {
        seconds_left: u64,
    },
    /// PEER_FLOOD: sends are paused until `reach account resume`.
    Limited,
    NeedsLogin,
    Unreachable {
        error: String,
    },
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Health::Connected => f.write_str("connected"),
            Health::FloodWait { seconds_left } => write!(f, "flood-wait, {seconds_left}s left"),
            Health::Limited => f.write_str("limited (PEER_FLOOD): check @SpamBot, then reach account resume"),
            Health::NeedsLogin => f.write_str("needs login"),
            Health::Unreachable { error } => write!(f, "unreachable: {error}"),
        }
    }
}

impl Telegram {
    fn api(&self) -> Result<(i32, String), AccountError> {
        match (self.config.api_id, &self.config.api_hash) {
            (Some(id), Some(hash)) => Ok((id, hash.clone())),
            _ => Err(AccountError::NoApiKeys),
        }
    }

    fn session(&self, name: &str) -> PathBuf {
        account::session_path(&self.data_dir, name)
    }

    /// Opens the session; the caller holds the account's lock (see `talk::lock`).
    pub(crate) async fn connect(&self, name: &str) -> Result<RealAccount, AccountError> {
        let (id, hash) = self.api()?;
        let path = self.session(name);
        if let Some(dir) = path.parent() {
            crate::talk::private_dir(dir)
                .map_err(|e| AccountError::Invalid(format!("cannot create {}: {e}", dir.display())))?;
        }
        // The session gives full control of the account: only this user may read it. It is
        // created empty with 0600 (SQLite takes an empty file as a new database, and gives its
        // journal the same mode), and an older one is tightened.
        #[cfg(unix)]
        {
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            let created = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path);
            if created.is_err() {
                let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
            }
        }
        Ok(RealAccount::connect(&path, id, &hash).await.map_err(LoginError::from)?)
    }

    /// The account's lock, or why another process has it.
    fn lock(&self, rec: &AccountRecord) -> Result<crate::talk::lock::AccountLock, String> {
        match crate::talk::lock::AccountLock::try_take(&self.data_dir, &rec.name) {
            Ok(Some(lock)) => Ok(lock),
            Ok(None) => Err(match rec.live_runner(now_millis()) {
                Some(r) => format!(
                    "{} is run by {} (pid {} on {}); its session cannot be opened twice",
                    rec.name, r.process, r.holder.pid, r.holder.host
                ),
                None => format!("{} is in use by another reach process", rec.name),
            }),
            Err(e) => Err(format!("{}: cannot lock its session: {e}", rec.name)),
        }
    }

    /// Logs an account in (asking `prompt` for the code and password) and records it as serving
    /// the writer's workspace, owned by the writer.
    pub async fn add_account(
        &self,
        store: &Store,
        ctx: &crate::store::WriteCtx,
        name: &str,
        phone: &str,
        prompt: &mut dyn Prompt,
    ) -> Result<AccountRecord, AccountError> {
        account::validate_name(name).map_err(AccountError::Invalid)?;
        // Names are session file names: unique per data dir, whatever the workspace.
        if let Some(other) = account::get(store, name)?.filter(|r| r.workspace != ctx.workspace) {
            return Err(AccountError::Invalid(format!(
                "the account name {name:?} is taken in another workspace ({}); choose another",
                other.workspace
            )));
        }
        let me = match self.backend {
            TelegramBackend::Simulated => login(&shared_world().account(name), phone, prompt).await?,
            TelegramBackend::Grammers => {
                let held = crate::talk::lock::AccountLock::try_take(&self.data_dir, name)
                    .map_err(|e| AccountError::Invalid(format!("cannot lock the session of {name}: {e}")))?;
                let Some(_lock) = held else {
                    return Err(AccountError::Invalid(format!(
                        "{name} is running in another reach process (reach listen or a TUI); stop it to log in again"
                    )));
                };
                login(&self.connect(name).await?, phone, prompt).await?
            }
        };
        let rec = account::new_record(name, phone, self.backend, me, &ctx.workspace, &ctx.actor);
        account::save(store, &rec)?;
        Ok(rec)
    }

    /// What the process running the account last recorded; when none runs it, the session is
    /// opened here (under its lock, so never beside a runner).
    pub async fn health(&self, rec: &AccountRecord) -> Health {
        use crate::crawl::account::RunnerHealth;
        let now = now_millis();
        if rec.limited_since.is_some() {
            return Health::Limited;
        }
        if let Some(seconds_left) = rec.flood_left(now) {
            return Health::FloodWait { seconds_left };
        }
        if let Some(r) = rec.live_runner(now) {
            return match &r.health {
                RunnerHealth::NeedsLogin => Health::NeedsLogin,
                RunnerHealth::Unreachable { error } => Health::Unreachable { error: error.clone() },
                RunnerHealth::Limited => Health::Limited,
                _ => Health::Connected,
            };
        }
        if rec.simulated {
            return if rec.me.is_some() { Health::Connected } else { Health::NeedsLogin };
        }
        if !self.session(&rec.name).exists() {
            return Health::NeedsLogin;
        }
        let _lock = match crate::talk::lock::AccountLock::try_take(&self.data_dir, &rec.name) {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                return Health::Unreachable { error: "its session is in use by another process starting up".into() }
            }
            Err(e) => return Health::Unreachable { error: format!("cannot lock its session: {e}") },
        };
        let check = async {
            let acct = self.connect(&rec.name).await.map_err(|e| e.to_string())?;
            acct.is_authorized().await.map_err(|e| e.to_string())
        };
        match tokio::time::timeout(Duration::from_secs(10), check).await {
            Ok(Ok(Some(_))) => Health::Connected,
            Ok(Ok(None)) => Health::NeedsLogin,
            Ok(Err(error)) => Health::Unreachable { error },
            Err(_) => Health::Unreachable { error: "no answer within 10 s".into() },
        }
    }

    /// The accounts serving `workspace`, each with its health, checked one after another.
    pub async fn accounts_health(
        &self,
        store: &Store,
        workspace: &str,
    ) -> Result<Vec<(AccountRecord, Health)>, AccountError> {
        let mut out = Vec::new();
        for rec in account::of_workspace(store, workspace)? {
            let health = self.health(&rec).await;
            out.push((rec, health));
        }
        Ok(out)
    }

    /// The accounts a crawl in `workspace` may use: those serving it, of this backend, narrowed
    /// by `--account` or the config list.
    pub fn crawl_accounts(
        &self,
        store: &Store,
        workspace: &str,
        only: Option<&str>,
    ) -> Result<Vec<AccountRecord>, CrawlError> {
        let all = account::of_workspace(store, workspace)?;
        let usable: Vec<AccountRecord> = all
            .into_iter()
            .filter(|r| r.backend() == self.backend)
            .filter(|r| match only {
                Some(name) => r.name == name,
                None => self.config.accounts.is_empty() || self.config.accounts.contains(&r.name),
            })
            .collect();
        if let (Some(name), true) = (only, usable.is_empty()) {
            return Err(CrawlError::Denied(format!(
                "no {} account named {name:?} serves this workspace (reach account list)",
                backend_name(self.backend)
            )));
        }
        Ok(usable)
    }

    /// Runs one crawl with this backend's adapter.
    pub async fn crawl(
        &self,
        sink: &Sink<'_>,
        accounts: Vec<AccountRecord>,
        opts: &Options,
        cancel: Arc<AtomicBool>,
        progress: &mut dyn FnMut(Event),
    ) -> Result<Summary, CrawlError> {
        // One process at a time per session: an account this process runs lends the crawl its
        // session, a free one is locked for the crawl, and one another process runs is skipped.
        let mut usable = Vec::new();
        let mut locks = Vec::new();
        let mut elsewhere = Vec::new();
        for r in accounts {
            let here = crate::talk::listen::held().lock().ok().and_then(|h| h.get(&r.name).cloned());
            if let Some(shared) = here {
                usable.push((r, shared));
                continue;
            }
            match self.lock(&r) {
                Ok(lock) => {
                    locks.push(lock);
                    usable.push((r, None));
                }
                Err(why) => elsewhere.push((r.name.clone(), why)),
            }
        }
        if usable.is_empty() && !elsewhere.is_empty() {
            let who = elsewhere.iter().map(|(_, why)| why.as_str()).collect::<Vec<_>>().join("; ");
            let names = elsewhere.into_iter().map(|(n, _)| n).collect();
            return super::handoff::request(sink.store, &sink.ctx, names, opts, &who, cancel, progress).await;
        }
        let summary = match self.backend {
            TelegramBackend::Simulated => {
                let world = shared_world();
                let accounts = usable
                    .into_iter()
                    .map(|(r, _)| Account { source: world.account(&r.name), name: r.name, flood_until: r.flood_until })
                    .collect();
                crawl(sink, accounts, opts, cancel, progress).await
            }
            TelegramBackend::Grammers => {
                let mut connected = Vec::new();
                let mut last_error = None;
                for (r, shared) in usable {
                    let source = match shared {
                        Some(source) => source,
                        None => match self.connect(&r.name).await {
                            Ok(source) => Arc::new(source),
                            Err(e) => {
                                last_error = Some(format!("{}: {e}", r.name));
                                continue;
                            }
                        },
                    };
                    connected.push(Account { name: r.name, source, flood_until: r.flood_until });
                }
                if let (true, Some(e)) = (connected.is_empty(), last_error) {
                    return Err(CrawlError::Telegram { target: opts.target.to_string(), error: TgError::Network(e) });
                }
                crawl(sink, connected, opts, cancel, progress).await
            }
        };
        drop(locks);
        summary
    }
}

pub fn backend_name(b: TelegramBackend) -> &'static str {
    match b {
        TelegramBackend::Simulated => "simulated",
        TelegramBackend::Grammers => "grammers",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_session_is_created_private_in_a_private_dir_and_opens_offline() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let config = TelegramConfig {
            api_id: Some(1),
            api_hash: Some("0123456789abcdef0123456789abcdef".into()),
            ..TelegramConfig::default()
        };
        let tg = Telegram { backend: TelegramBackend::Grammers, config, data_dir: dir.path().to_path_buf() };
        let acct = tg.connect("main").await.unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&account::session_path(dir.path(), "main")), 0o600);
        assert_eq!(mode(&dir.path().join("sessions")), 0o700);
        assert_eq!(acct.is_authorized().await.ok().flatten(), None, "an empty session is not logged in");
    }
}
