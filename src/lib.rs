//! reach: a terminal-first CRM for Telegram outreach.

pub mod config;
pub mod model;
pub mod normalize;
pub mod store;
