//! reach: a terminal-first CRM for Telegram outreach.

#[cfg(feature = "bench")]
pub mod bench;
pub mod campaign;
pub mod chunks;
pub mod cli;
pub mod config;
pub mod crawl;
pub mod export;
pub mod flock;
pub mod import;
pub mod jobs;
pub mod model;
pub mod normalize;
pub mod search;
pub mod serve;
pub mod store;
pub mod talk;
pub mod telegram;
pub mod tui;
pub mod vcard;
pub mod workspace;
