//! `config.toml`: every key is documented in `config.example.toml`. Unknown keys and bad values
//! fail with an error that names the file and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub data_dir: Option<PathBuf>,
    /// Region for national phone formats when a lead has no country (ISO 3166 alpha-2).
    pub default_region: Option<String>,
    /// The acting identity locally; defaults to the OS user.
    pub user: Option<String>,
    #[serde(default)]
    pub telegram: TelegramConfig,
    #[serde(default)]
    pub crawl: CrawlConfig,
    #[serde(default)]
    pub messages: MessagesConfig,
    #[serde(default)]
    pub campaigns: CampaignsConfig,
    /// Action name -> key, overriding the TUI's default keymap.
    #[serde(default)]
    pub keys: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Default, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TelegramBackend {
    #[default]
    Grammers,
    Simulated,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    #[serde(default)]
    pub backend: TelegramBackend,
    pub api_id: Option<i32>,
    pub api_hash: Option<String>,
    /// Account names (sessions live in `<data_dir>/sessions/<name>.session`).
    #[serde(default)]
    pub accounts: Vec<String>,
    /// Opening a thread in reach also marks it read on Telegram (the lead sees read ticks).
    #[serde(default = "yes")]
    pub send_read_receipts: bool,
}

fn yes() -> bool {
    true
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            backend: TelegramBackend::default(),
            api_id: None,
            api_hash: None,
            accounts: Vec::new(),
            send_read_receipts: true,
        }
    }
}

/// Campaign defaults and safety: see `config.example.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CampaignsConfig {
    /// A lead gets at most one campaign message in this many days, whichever campaign sends it.
    pub period_days: u32,
    /// A flood wait longer than this pauses the account in every campaign until a person resumes.
    pub flood_breaker_secs: u64,
    /// The time zone of a campaign's caps and quiet hours when `--timezone` is not given
    /// (IANA name; empty: this machine's).
    pub timezone: String,
}

impl Default for CampaignsConfig {
    fn default() -> Self {
        CampaignsConfig { period_days: 7, flood_breaker_secs: 300, timezone: String::new() }
    }
}

/// How accounts send: see `config.example.toml`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MessagesConfig {
    /// Minimum pause between two messages of one account.
    pub pacing_ms: u64,
    /// Random extra pause added to each message, up to this much.
    pub jitter_ms: u64,
    /// Messages a day, per account, to people it has never talked to.
    pub first_contacts_per_day: u32,
    /// Local hours in which nothing is sent, as "22-8".
    pub quiet_hours: Option<String>,
    /// A reply that is one of these (or starts with one) marks the lead do-not-contact.
    pub stop_words: Option<Vec<String>>,
}

impl Default for MessagesConfig {
    fn default() -> Self {
        MessagesConfig {
            pacing_ms: 30_000,
            jitter_ms: 15_000,
            first_contacts_per_day: 20,
            quiet_hours: None,
            stop_words: None,
        }
    }
}

impl MessagesConfig {
    /// `quiet_hours` as (start, end) hours; None when unset (validation refuses a bad value).
    pub fn quiet_hours_parsed(&self) -> Option<(u32, u32)> {
        parse_hours(self.quiet_hours.as_deref()?).ok()
    }
}

pub fn parse_hours(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{s:?}: expected two hours such as \"22-8\"");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    let hour = |h: &str| h.trim().trim_end_matches(":00").parse::<u32>().ok().filter(|h| *h < 24);
    match (hour(a), hour(b)) {
        (Some(a), Some(b)) if a != b => Ok((a, b)),
        _ => Err(bad()),
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CrawlConfig {
    /// Minimum pause between two requests of one account.
    pub pacing_ms: u64,
    /// Random extra pause added to each request, up to this much.
    pub jitter_ms: u64,
    /// How long a crawl result is reused before a target is crawled again.
    pub cache_ttl_hours: u64,
    /// How many messages back the history-authors method reads by default.
    pub history_depth: u32,
}

impl Default for CrawlConfig {
    fn default() -> Self {
        CrawlConfig { pacing_ms: 1000, jitter_ms: 500, cache_ttl_hours: 24, history_depth: 3000 }
    }
}

/// TUI actions whose keys `[keys]` may override.
pub fn key_actions() -> impl Iterator<Item = &'static str> {
    crate::tui::keymap::names().into_iter()
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

impl Config {
    /// Loads `explicit` (must exist), else the user's config file if there is one, else defaults.
    pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => default_path().filter(|p| p.exists()),
        };
        let Some(path) = path else { return Ok((Config::default(), None)) };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ConfigError::Invalid { path: path.clone(), message: format!("cannot read: {e}") })?;
        let config = Config::parse(&text).map_err(|message| ConfigError::Invalid { path: path.clone(), message })?;
        Ok((config, Some(path)))
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        if let Some(r) = &self.default_region {
            crate::normalize::normalize_country(r)
                .map_err(|_| format!("default_region = {r:?}: expected an ISO 3166 alpha-2 code such as RU or GB"))?;
        }
        if let Some(u) = &self.user {
            validate_user(u).map_err(|e| format!("user = {u:?}: {e}"))?;
        }
        if let Some(q) = &self.messages.quiet_hours {
            parse_hours(q).map_err(|e| format!("messages.quiet_hours = {e}"))?;
        }
        if self.messages.pacing_ms < 1000 {
            return Err("messages.pacing_ms: at least 1000 (one message a second per account)".into());
        }
        if !self.campaigns.timezone.is_empty() {
            crate::campaign::pace::zone(&self.campaigns.timezone).map_err(|e| format!("campaigns.timezone: {e}"))?;
        }
        if self.crawl.cache_ttl_hours == 0 {
            return Err("crawl.cache_ttl_hours: must be at least 1".into());
        }
        if let Some(h) = &self.telegram.api_hash {
            if h.len() != 32 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("telegram.api_hash: expected the 32 hex digits from my.telegram.org".into());
            }
        }
        for (action, key) in &self.keys {
            if !key_actions().any(|a| a == action) {
                let all: Vec<&str> = key_actions().collect();
                return Err(format!("keys.{action}: unknown action; expected one of {}", all.join(", ")));
            }
            crate::tui::keymap::parse_key(key).map_err(|e| format!("keys.{action} = {key:?}: {e}"))?;
        }
        Ok(())
    }

    pub fn default_region(&self) -> Option<&str> {
        self.default_region.as_deref()
    }
}

fn default_path() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.config_dir().join("reach").join("config.toml"))
}

/// The default data dir: `$XDG_DATA_HOME/reach`, usually `~/.local/share/reach`.
pub fn default_data_dir() -> PathBuf {
    directories::BaseDirs::new().map(|d| d.data_dir().join("reach")).unwrap_or_else(|| PathBuf::from(".reach"))
}

/// Expands a leading `~/` so config files can say `data_dir = "~/crm"`.
pub fn expand_home(p: &Path) -> PathBuf {
    match (p.strip_prefix("~"), directories::BaseDirs::new()) {
        (Ok(rest), Some(dirs)) => dirs.home_dir().join(rest),
        _ => p.to_path_buf(),
    }
}

pub fn validate_user(u: &str) -> Result<(), String> {
    if u.is_empty() || u.len() > 64 || !u.chars().all(|c| c.is_alphanumeric() || "._-@".contains(c)) {
        return Err("a user name is 1-64 letters, digits, '.', '_', '-' or '@'".into());
    }
    Ok(())
}

/// The OS user, for when neither `--user`, `REACH_USER` nor `user` in config names one.
pub fn os_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|u| validate_user(u).is_ok())
        .unwrap_or_else(|| "local".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses() {
        let text = include_str!("../config.example.toml");
        let c = Config::parse(text).unwrap();
        assert_eq!(c.default_region.as_deref(), Some("RU"));
        assert_eq!(c.crawl.cache_ttl_hours, 24);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::parse("defualt_region = \"RU\"").unwrap_err();
        assert!(err.contains("defualt_region"), "{err}");
        let err = Config::parse("[crawl]\npacing = 3").unwrap_err();
        assert!(err.contains("pacing"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        assert!(Config::parse("default_region = \"Russia\"").unwrap_err().contains("default_region"));
        assert!(Config::parse("[crawl]\npacing_ms = \"fast\"").unwrap_err().contains("pacing_ms"));
        assert!(Config::parse("[keys]\nquit = \"ctrl-banana\"").unwrap_err().contains("keys.quit"));
        assert!(Config::parse("[keys]\nfly = \"f\"").unwrap_err().contains("keys.fly"));
        assert!(Config::parse("[telegram]\nbackend = \"carrier-pigeon\"").unwrap_err().contains("backend"));
        assert!(Config::parse("user = \"a b\"").unwrap_err().contains("user"));
    }
}
