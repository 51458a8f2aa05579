use crate::model::LeadError;

/// Accepts `name`, `@name`, `t.me/name` and `https://t.me/name`; returns the bare username with its case kept.
pub fn normalize_username(raw: &str) -> Result<String, LeadError> {
    let mut s = raw.trim();
    for scheme in ["https://", "http://"] {
        if let Some(rest) = strip_prefix_ignore_case(s, scheme) {
            s = rest;
        }
    }
    for host in ["www.t.me/", "t.me/", "telegram.me/", "telegram.dog/"] {
        if let Some(rest) = strip_prefix_ignore_case(s, host) {
            s = rest;
            // A link may carry a path or query after the name: t.me/name?start=x
            s = s.split(['/', '?', '#']).next().unwrap_or_default();
            break;
        }
    }
    let s = s.strip_prefix('@').unwrap_or(s);
    let valid_chars = s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !(5..=32).contains(&s.len()) || !valid_chars {
        return Err(LeadError::invalid("username", raw, "a username is 5-32 characters of A-Z, a-z, 0-9 and _"));
    }
    Ok(s.to_string())
}

/// `get` rather than slicing: the input may be any UTF-8, and a byte offset can fall inside a character.
fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        for raw in [
            "Alice_99",
            "@Alice_99",
            "t.me/Alice_99",
            "https://t.me/Alice_99",
            " HTTPS://T.ME/Alice_99/ ",
            "t.me/Alice_99?start=1",
        ] {
            assert_eq!(normalize_username(raw).unwrap(), "Alice_99", "{raw}");
        }
    }

    #[test]
    fn rejected_forms() {
        for raw in ["abcd", "@", "", "has space", "dash-name", "a".repeat(33).as_str(), "имяюзера"] {
            let err = normalize_username(raw).unwrap_err();
            assert_eq!(err.field, "username", "{raw}");
        }
        assert!(normalize_username(&"a".repeat(32)).is_ok());
    }
}
