//! Header matching: standard columns by name or alias (case, spaces and punctuation ignored),
//! `--map` overrides, and every other column as a custom field.

use crate::model::LeadInput;
use crate::normalize::field_key;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Std {
    FirstName,
    LastName,
    Username,
    Phone,
    Country,
    Language,
    UserId,
    Tags,
    Status,
    Priority,
    Group,
    Groups,
    Photo,
    Note,
}

impl Std {
    pub fn name(self) -> &'static str {
        match self {
            Std::FirstName => "first_name",
            Std::LastName => "last_name",
            Std::Username => "username",
            Std::Phone => "phone_number",
            Std::Country => "country",
            Std::Language => "language",
            Std::UserId => "telegram_user_id",
            Std::Tags => "tags",
            Std::Status => "status",
            Std::Priority => "priority",
            Std::Group => "group_name",
            Std::Groups => "groups",
            Std::Photo => "photo",
            Std::Note => "note",
        }
    }

    fn is_identifier(self) -> bool {
        matches!(self, Std::Username | Std::Phone | Std::UserId)
    }
}

/// The standard columns a file is expected to have; any that are missing are reported as warnings.
const EXPECTED: &[Std] = &[Std::FirstName, Std::LastName, Std::Username, Std::Phone];

/// Header (lowercased, letters and digits only) -> standard column.
const ALIASES: &[(&str, Std)] = &[
    ("firstname", Std::FirstName),
    ("first", Std::FirstName),
    ("givenname", Std::FirstName),
    ("name", Std::FirstName),
    ("fullname", Std::FirstName),
    ("имя", Std::FirstName),
    ("lastname", Std::LastName),
    ("last", Std::LastName),
    ("surname", Std::LastName),
    ("familyname", Std::LastName),
    ("фамилия", Std::LastName),
    ("username", Std::Username),
    ("user", Std::Username),
    ("login", Std::Username),
    ("handle", Std::Username),
    ("telegram", Std::Username),
    ("telegramusername", Std::Username),
    ("tg", Std::Username),
    ("tgusername", Std::Username),
    ("usernametelegram", Std::Username),
    ("phonenumber", Std::Phone),
    ("phone", Std::Phone),
    ("mobile", Std::Phone),
    ("mobilephone", Std::Phone),
    ("mobilenumber", Std::Phone),
    ("cell", Std::Phone),
    ("cellphone", Std::Phone),
    ("tel", Std::Phone),
    ("telephone", Std::Phone),
    ("msisdn", Std::Phone),
    ("телефон", Std::Phone),
    ("country", Std::Country),
    ("countrycode", Std::Country),
    ("language", Std::Language),
    ("lang", Std::Language),
    ("languagecode", Std::Language),
    ("langcode", Std::Language),
    ("telegramuserid", Std::UserId),
    ("userid", Std::UserId),
    ("telegramid", Std::UserId),
    ("tgid", Std::UserId),
    ("tguserid", Std::UserId),
    ("uid", Std::UserId),
    ("tags", Std::Tags),
    ("tag", Std::Tags),
    ("labels", Std::Tags),
    ("status", Std::Status),
    ("priority", Std::Priority),
    ("groupname", Std::Group),
    ("group", Std::Group),
    ("groups", Std::Groups),
    ("photo", Std::Photo),
];

/// Columns of a reach export that reach sets itself; they are not imported.
const REACH_METADATA: &[&str] = &["id", "source", "createdat", "updatedat", "createdby"];

pub fn squash(header: &str) -> String {
    header.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Std(Std),
    Custom { key: String, label: String },
    Skip,
}

#[derive(Debug, Clone)]
pub struct Mapping {
    pub headers: Vec<String>,
    pub targets: Vec<Target>,
    pub warnings: Vec<String>,
}

impl Mapping {
    /// A notes column becomes a custom field unless `--map` makes it a history note: a note is
    /// appended on every import, so only an explicit choice may do that.
    /// `overrides` are `--map HEADER=field` pairs; `field` is a standard column, `skip`, or a custom field key.
    pub fn new(headers: &[String], overrides: &[(String, String)]) -> Result<Mapping, MappingError> {
        let mut targets = Vec::with_capacity(headers.len());
        let mut warnings = Vec::new();
        let mut used_keys = std::collections::HashSet::new();
        let mut taken = std::collections::HashSet::new();
        for (h, _) in overrides {
            if !headers.iter().any(|x| squash(x) == squash(h)) {
                return Err(MappingError::UnknownHeader { header: h.clone(), found: headers.to_vec() });
            }
        }
        for header in headers {
            let sq = squash(header);
            let over = overrides.iter().find(|(h, _)| squash(h) == sq).map(|(_, f)| f.as_str());
            let target = match over {
                Some(f) if matches!(f.trim().to_ascii_lowercase().as_str(), "skip" | "ignore" | "-") => Target::Skip,
                Some(f) => match std_by_name(f) {
                    Some(s) => Target::Std(s),
                    None => custom(f, header, &mut used_keys),
                },
                None => match ALIASES.iter().find(|(a, _)| *a == sq) {
                    // A second column for the same standard field (say, two "phone" columns) is kept as a custom field.
                    Some((_, s)) if !taken.contains(s) => Target::Std(*s),
                    _ if REACH_METADATA.contains(&sq.as_str()) => {
                        warnings.push(format!(
                            "column {header:?} is not imported: reach sets it itself (--map \"{header}=KEY\" keeps it as a custom field)"
                        ));
                        Target::Skip
                    }
                    _ if sq.is_empty() && header.trim().is_empty() => Target::Custom {
                        key: unique_key(&format!("column_{}", targets.len() + 1), &mut used_keys),
                        label: format!("column {}", targets.len() + 1),
                    },
                    _ => custom(header, header, &mut used_keys),
                },
            };
            if let Target::Std(s) = &target {
                taken.insert(*s);
            }
            targets.push(target);
        }
        if !targets.iter().any(|t| matches!(t, Target::Std(s) if s.is_identifier())) {
            return Err(MappingError::NoIdentifier { found: headers.to_vec() });
        }
        let missing: Vec<&str> = EXPECTED.iter().filter(|s| !taken.contains(s)).map(|s| s.name()).collect();
        if !missing.is_empty() {
            warnings.insert(0, format!("missing standard columns: {}", missing.join(", ")));
        }
        Ok(Mapping { headers: headers.to_vec(), targets, warnings })
    }

    /// Fills a `LeadInput` from a row's cells. Empty cells are "not given".
    pub fn apply(&self, cells: &[String], extra_tags: &[String]) -> LeadInput {
        let mut input = LeadInput { tags: extra_tags.to_vec(), ..Default::default() };
        for (target, cell) in self.targets.iter().zip(cells) {
            let v = cell.trim();
            if v.is_empty() {
                continue;
            }
            let set = |slot: &mut Option<String>| *slot = Some(v.to_string());
            match target {
                Target::Std(Std::FirstName) => set(&mut input.first_name),
                Target::Std(Std::LastName) => set(&mut input.last_name),
                Target::Std(Std::Username) => set(&mut input.username),
                Target::Std(Std::Phone) => set(&mut input.phone),
                Target::Std(Std::Country) => set(&mut input.country),
                Target::Std(Std::Language) => set(&mut input.language),
                Target::Std(Std::UserId) => set(&mut input.telegram_user_id),
                Target::Std(Std::Status) => set(&mut input.status),
                Target::Std(Std::Priority) => set(&mut input.priority),
                Target::Std(Std::Group) => set(&mut input.group),
                Target::Std(Std::Photo) => set(&mut input.photo),
                Target::Std(Std::Note) => set(&mut input.note),
                Target::Std(Std::Tags) => input
                    .tags
                    .extend(v.split([',', ';', '|']).map(str::trim).filter(|t| !t.is_empty()).map(String::from)),
                Target::Std(Std::Groups) => {
                    input.groups.extend(v.split(';').map(str::trim).filter(|g| !g.is_empty()).map(String::from))
                }
                Target::Custom { key, .. } => input.fields.push((key.clone(), v.to_string())),
                Target::Skip => {}
            }
        }
        input
    }

    /// A validation error, with the file's own header named for the field at fault.
    pub fn explain(&self, e: &crate::model::LeadError) -> String {
        let std = match e.field {
            "phone" => Some(Std::Phone),
            "username" => Some(Std::Username),
            "telegram_user_id" => Some(Std::UserId),
            "country" => Some(Std::Country),
            "language" => Some(Std::Language),
            "status" => Some(Std::Status),
            "priority" => Some(Std::Priority),
            "tags" => Some(Std::Tags),
            _ => None,
        };
        let header = std.and_then(|s| self.targets.iter().position(|t| *t == Target::Std(s))).map(|i| &self.headers[i]);
        match header {
            Some(h) if squash(h) != squash(e.field) => format!("column {h:?}: {e}"),
            _ => e.to_string(),
        }
    }

    pub fn custom_labels(&self) -> Vec<(String, String)> {
        self.targets
            .iter()
            .filter_map(|t| match t {
                Target::Custom { key, label } => Some((key.clone(), label.clone())),
                _ => None,
            })
            .collect()
    }

    /// `Header -> field` lines for previews and summaries.
    pub fn describe(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .zip(&self.targets)
            .map(|(h, t)| {
                let to = match t {
                    Target::Std(s) => s.name().to_string(),
                    Target::Custom { key, .. } => format!("custom field {key}"),
                    Target::Skip => "(skipped)".to_string(),
                };
                (h.clone(), to)
            })
            .collect()
    }
}

fn std_by_name(f: &str) -> Option<Std> {
    let sq = squash(f);
    [
        Std::FirstName,
        Std::LastName,
        Std::Username,
        Std::Phone,
        Std::Country,
        Std::Language,
        Std::UserId,
        Std::Tags,
        Std::Status,
        Std::Priority,
        Std::Group,
        Std::Groups,
        Std::Photo,
        Std::Note,
    ]
    .into_iter()
    .find(|s| squash(s.name()) == sq)
    .or_else(|| ALIASES.iter().find(|(a, _)| *a == sq).map(|(_, s)| *s))
}

fn custom(key_source: &str, header: &str, used: &mut std::collections::HashSet<String>) -> Target {
    let mut key = field_key(key_source);
    if key.is_empty() || crate::model::is_reserved_field(&key) {
        key = format!("col_{key}");
    }
    Target::Custom { key: unique_key(&key, used), label: header.trim().to_string() }
}

fn unique_key(key: &str, used: &mut std::collections::HashSet<String>) -> String {
    let mut candidate = key.to_string();
    let mut n = 2;
    while !used.insert(candidate.clone()) {
        candidate = format!("{key}_{n}");
        n += 1;
    }
    candidate
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error(
        "no identifier column: found {}; expected at least one of username, phone_number or telegram_user_id (or aliases such as phone, mobile, tel, user_id, telegram, @username; or --map HEADER=username)",
        quoted(found)
    )]
    NoIdentifier { found: Vec<String> },
    #[error("--map names header {header:?}, which the file does not have; its headers are {}", quoted(found))]
    UnknownHeader { header: String, found: Vec<String> },
}

fn quoted(v: &[String]) -> String {
    if v.is_empty() {
        return "no headers".into();
    }
    v.iter().map(|h| format!("{h:?}")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn headers_match_ignoring_case_spaces_and_punctuation() {
        for header in ["First Name", "first-name", "FIRST_NAME", " first.name "] {
            let m = Mapping::new(&h(&[header, "phone"]), &[]).unwrap();
            assert_eq!(m.targets[0], Target::Std(Std::FirstName), "{header}");
        }
        let m = Mapping::new(&h(&["@username", "Mobile", "User ID", "Lead Score"]), &[]).unwrap();
        assert_eq!(m.targets[0], Target::Std(Std::Username));
        assert_eq!(m.targets[1], Target::Std(Std::Phone));
        assert_eq!(m.targets[2], Target::Std(Std::UserId));
        assert_eq!(m.targets[3], Target::Custom { key: "lead_score".into(), label: "Lead Score".into() });
    }

    #[test]
    fn no_identifier_column_lists_what_was_found() {
        let err = Mapping::new(&h(&["Name", "City"]), &[]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"Name\", \"City\"") && msg.contains("phone_number"), "{msg}");
    }

    #[test]
    fn overrides_win() {
        let m = Mapping::new(
            &h(&["Contact", "Score"]),
            &[("contact".into(), "phone_number".into()), ("Score".into(), "skip".into())],
        )
        .unwrap();
        assert_eq!(m.targets, vec![Target::Std(Std::Phone), Target::Skip]);
        assert!(matches!(
            Mapping::new(&h(&["phone"]), &[("nope".into(), "username".into())]),
            Err(MappingError::UnknownHeader { .. })
        ));
    }

    #[test]
    fn missing_standard_columns_are_warned_and_duplicates_kept_as_custom() {
        let m = Mapping::new(&h(&["phone", "Phone"]), &[]).unwrap();
        assert!(m.warnings[0].contains("first_name, last_name, username"), "{:?}", m.warnings);
        assert_eq!(m.targets[1], Target::Custom { key: "col_phone".into(), label: "Phone".into() });
    }

    #[test]
    fn rows_fill_lead_input() {
        let m = Mapping::new(&h(&["username", "tags", "Deal Size", "groups"]), &[]).unwrap();
        let input = m.apply(&h(&["@bob_b", "vip; warm", " 1,000 ", "A; B"]), &["imported".into()]);
        assert_eq!(input.username.as_deref(), Some("@bob_b"));
        assert_eq!(input.tags, h(&["imported", "vip", "warm"]));
        assert_eq!(input.fields, vec![("deal_size".to_string(), "1,000".to_string())]);
        assert_eq!(input.groups, h(&["A", "B"]));
    }
}
