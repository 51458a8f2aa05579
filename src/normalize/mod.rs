//! Identifier and field normalization shared by the CLI, the import pipeline and the TUI forms.

mod phone;
mod username;

pub use phone::{normalize_phone, Phone};
pub use username::normalize_username;

use crate::model::LeadError;

/// Validates an ISO 3166 alpha-2 code against libphonenumber's region list and uppercases it.
pub fn normalize_country(raw: &str) -> Result<String, LeadError> {
    let code = raw.trim().to_ascii_uppercase();
    if code.len() == 2 && code.parse::<phonenumber::country::Id>().is_ok() {
        Ok(code)
    } else {
        Err(LeadError::invalid("country", raw, "expected an ISO 3166 alpha-2 code such as RU or GB"))
    }
}

/// Accepts a BCP 47 primary language tag with an optional region (`en`, `pt-BR`), as Telegram reports them.
pub fn normalize_language(raw: &str) -> Result<String, LeadError> {
    let t = raw.trim().replace('_', "-");
    let mut parts = t.splitn(2, '-');
    let primary = parts.next().unwrap_or_default();
    let region = parts.next();
    let primary_ok = (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_alphabetic());
    let region_ok = region.is_none_or(|r| (2..=8).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric()));
    if !primary_ok || !region_ok {
        return Err(LeadError::invalid("language", raw, "expected a language code such as en or pt-BR"));
    }
    Ok(match region {
        Some(r) => format!("{}-{}", primary.to_ascii_lowercase(), r.to_ascii_uppercase()),
        None => primary.to_ascii_lowercase(),
    })
}

/// Tags are trimmed and lowercased so `VIP` and `vip` are one tag; commas are reserved as the list separator.
pub fn normalize_tag(raw: &str) -> Result<String, LeadError> {
    let t = raw.trim().to_lowercase();
    if t.is_empty() || t.contains(',') || t.chars().any(char::is_control) {
        return Err(LeadError::invalid("tags", raw, "a tag is non-empty and has no commas"));
    }
    Ok(t)
}

/// Custom field keys are snake_case; headers like `Lead Score` become `lead_score`.
pub fn field_key(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_sep = false;
    for c in raw.trim().chars() {
        if c.is_alphanumeric() {
            if pending_sep && !out.is_empty() {
                out.push('_');
            }
            pending_sep = false;
            out.extend(c.to_lowercase());
        } else {
            pending_sep = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_codes() {
        assert_eq!(normalize_country(" ru ").unwrap(), "RU");
        assert!(normalize_country("Russia").is_err());
        assert!(normalize_country("XX").is_err());
    }

    #[test]
    fn languages() {
        assert_eq!(normalize_language("EN").unwrap(), "en");
        assert_eq!(normalize_language("pt_br").unwrap(), "pt-BR");
        assert!(normalize_language("english!").is_err());
        assert!(normalize_language("").is_err());
    }

    #[test]
    fn tags_and_keys() {
        assert_eq!(normalize_tag(" VIP ").unwrap(), "vip");
        assert!(normalize_tag("a,b").is_err());
        assert_eq!(field_key("Lead Score (2024)"), "lead_score_2024");
        assert_eq!(field_key("  Город "), "город");
    }
}
