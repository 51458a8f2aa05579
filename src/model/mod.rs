//! Plain data: leads, their history, and the validated input that the store merges.

mod activity;
mod candidate;
mod facet;
mod import_record;
mod lead;
mod message;
mod segment;

pub use activity::{Activity, ActivityKind, FieldChange, MatchKey};
pub use candidate::{is_reserved_field, parse_user_id, Candidate, LeadInput, STANDARD_FIELDS};
pub use facet::{Facet, FacetKind};
pub use import_record::{ImportRecord, ImportState};
pub use lead::{Flag, Lead, Priority, Source, Status};
pub use message::{
    default_stop_words, is_stop_request, BlockCause, CantMessage, Conversation, Delivery, Direction, Message,
};
pub use segment::{validate_name as validate_segment_name, Segment, SegmentMatcher};

use std::fmt;

/// A user-facing validation error that names the field and the value at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LeadError {
    pub field: &'static str,
    pub value: String,
    pub reason: String,
}

impl LeadError {
    pub fn invalid(field: &'static str, value: &str, reason: impl Into<String>) -> Self {
        LeadError { field, value: value.to_string(), reason: reason.into() }
    }
}

impl fmt::Display for LeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}: {}", self.field, self.reason)
        } else {
            write!(f, "{} {:?}: {}", self.field, self.value, self.reason)
        }
    }
}

/// Milliseconds since the Unix epoch; compact in the store and trivially ordered.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// "45s", "12m", "3h 12m": a duration in milliseconds, for ages such as a crawl cache's.
pub fn format_age(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        _ => format!("{}h {}m", s / 3600, s % 3600 / 60),
    }
}

pub fn format_millis(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ms.to_string())
}
