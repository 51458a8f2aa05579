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
    ("categories", Std::Tags),
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
    Custom {
        key: String,
        label: String,
    },
    Skip,
    /// One of a contacts app's phone columns (`Phone 1 - Value`, `Mobile Phone`), numbered in
    /// file order; its label comes from the header or from the slot's label column. The first
    /// mobile number of a row is the lead's phone, the others custom fields.
    PhoneSlot {
        slot: usize,
        label: Option<String>,
    },
    /// `Phone 1 - Label` (or `- Type`): the label of phone slot `slot`.
    PhoneLabel {
        slot: usize,
    },
}

#[derive(Debug, Clone)]
pub struct Mapping {
    pub headers: Vec<String>,
    pub targets: Vec<Target>,
    pub warnings: Vec<String>,
    /// The contacts app the headers are recognized as, if any.
    pub recognized: Option<&'static str>,
}

/// Which contacts app wrote a file, by its headers: Google Contacts numbers its phone columns
/// (`Phone 1 - Value`) and puts contact groups in `Labels`; Outlook names its phone columns
/// (`Mobile Phone`, `Business Phone`) beside `E-mail Address` and `Categories`.
fn recognize(squashed: &[String]) -> Option<&'static str> {
    let has = |h: &str| squashed.iter().any(|s| s == h);
    // The rows reach makes of a vCard file number their phones `TEL 1 - Value`.
    if squashed.iter().any(|s| s.starts_with("tel") && google_phone(s).is_some()) {
        return Some("vCard");
    }
    if squashed.iter().any(|s| google_phone(s).is_some()) || (has("givenname") && has("familyname")) {
        return Some("Google Contacts");
    }
    let named_phones = squashed.iter().filter(|s| outlook_phone(s).is_some()).count();
    if named_phones > 0 && (has("emailaddress") || has("categories")) {
        return Some("Outlook");
    }
    None
}

/// `phone1value` -> (1, value), `phone1label` / `phone1type` -> (1, label); `tel1value` too.
fn google_phone(squashed: &str) -> Option<(usize, bool)> {
    let rest = squashed.strip_prefix("phone").or_else(|| squashed.strip_prefix("tel"))?;
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let n = rest[..digits].parse().ok()?;
    match &rest[digits..] {
        "value" => Some((n, true)),
        "label" | "type" => Some((n, false)),
        _ => None,
    }
}

/// Outlook's phone columns, with the label each header names.
fn outlook_phone(squashed: &str) -> Option<&'static str> {
    Some(match squashed {
        "mobilephone" => "mobile",
        "primaryphone" => "primary",
        "businessphone" | "businessphone2" | "companymainphone" => "work",
        "homephone" | "homephone2" => "home",
        "otherphone" => "other",
        "carphone" => "car",
        "pager" => "pager",
        _ => return None,
    })
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
        let squashed: Vec<String> = headers.iter().map(|h| squash(h)).collect();
        let recognized = recognize(&squashed);
        // A file with a given-name column keeps its "Name" (the full name) as a custom field.
        let has_given = squashed.iter().any(|s| matches!(s.as_str(), "firstname" | "givenname" | "first"));
        // Phone slots in file order; Google's label columns find their slot by its number.
        let mut slots: Vec<(Option<usize>, Option<&'static str>)> = Vec::new();
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
                None if recognized.is_some() && (google_phone(&sq).is_some() || outlook_phone(&sq).is_some()) => {
                    match (google_phone(&sq), outlook_phone(&sq)) {
                        (Some((n, true)), _) => {
                            slots.push((Some(n), None));
                            Target::PhoneSlot { slot: slots.len() - 1, label: None }
                        }
                        (Some((n, false)), _) => Target::PhoneLabel { slot: n },
                        (None, label) => {
                            slots.push((None, label));
                            Target::PhoneSlot { slot: slots.len() - 1, label: label.map(str::to_string) }
                        }
                    }
                }
                None if has_given && matches!(sq.as_str(), "name" | "fullname") => {
                    custom(header, header, &mut used_keys)
                }
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
        // Google's label columns name their slot by the file's number: turn it into our index.
        for t in &mut targets {
            if let Target::PhoneLabel { slot } = t {
                let n = *slot;
                match slots.iter().position(|(num, _)| *num == Some(n)) {
                    Some(i) => *slot = i,
                    None => *t = Target::Skip,
                }
            }
        }
        if targets.iter().any(|t| matches!(t, Target::PhoneSlot { .. })) {
            taken.insert(Std::Phone);
        }
        let identifier =
            |t: &Target| matches!(t, Target::Std(s) if s.is_identifier()) || matches!(t, Target::PhoneSlot { .. });
        if !targets.iter().any(identifier) {
            return Err(MappingError::NoIdentifier { found: headers.to_vec() });
        }
        let missing: Vec<&str> = EXPECTED.iter().filter(|s| !taken.contains(s)).map(|s| s.name()).collect();
        if !missing.is_empty() {
            warnings.insert(0, format!("missing standard columns: {}", missing.join(", ")));
        }
        Ok(Mapping { headers: headers.to_vec(), targets, warnings, recognized })
    }

    /// Fills a `LeadInput` from a row's cells. Empty cells are "not given".
    pub fn apply(&self, cells: &[String], extra_tags: &[String]) -> LeadInput {
        let mut input = LeadInput { tags: extra_tags.to_vec(), ..Default::default() };
        // (slot, label, number) of a contacts app's phone columns.
        let mut phones: Vec<(usize, Option<String>, String)> = Vec::new();
        let mut labels: Vec<(usize, String)> = Vec::new();
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
                // Google writes "* myContacts ::: Friends": its own "all contacts" group is no tag.
                Target::Std(Std::Tags) => input.tags.extend(
                    v.split(" ::: ")
                        .flat_map(|p| p.split([',', ';', '|']))
                        .map(|t| t.trim().trim_start_matches('*').trim())
                        .filter(|t| !t.is_empty() && !t.eq_ignore_ascii_case("mycontacts"))
                        .map(String::from),
                ),
                // Google puts several numbers of one label in one cell, " ::: " between them.
                Target::PhoneSlot { slot, label } => phones.extend(
                    v.split(" ::: ")
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .map(|p| (*slot, label.clone(), p.to_string())),
                ),
                Target::PhoneLabel { slot } => labels.push((*slot, v.trim_start_matches('*').trim().to_string())),
                Target::Std(Std::Groups) => {
                    input.groups.extend(v.split(';').map(str::trim).filter(|g| !g.is_empty()).map(String::from))
                }
                Target::Custom { key, .. } => input.fields.push((key.clone(), v.to_string())),
                Target::Skip => {}
            }
        }
        self.place_phones(&mut input, phones, &labels);
        input
    }

    /// The first mobile number is the lead's phone (else the first number); the others are
    /// custom fields named by their label: `phone_work`, `phone_home_2`.
    fn place_phones(
        &self,
        input: &mut LeadInput,
        phones: Vec<(usize, Option<String>, String)>,
        labels: &[(usize, String)],
    ) {
        let label_of = |slot: usize, own: &Option<String>| {
            own.clone().or_else(|| labels.iter().find(|(s, _)| *s == slot).map(|(_, l)| l.clone()))
        };
        let labelled: Vec<(Option<String>, String)> =
            phones.into_iter().map(|(s, own, p)| (label_of(s, &own), p)).collect();
        let mobile = |l: &Option<String>| {
            l.as_deref().is_some_and(|l| {
                let l = l.to_lowercase();
                l.contains("mobile") || l.contains("cell") || l.contains("моб")
            })
        };
        let main = labelled.iter().position(|(l, _)| mobile(l)).or((!labelled.is_empty()).then_some(0));
        let mut used: Vec<String> = input.fields.iter().map(|(k, _)| k.clone()).collect();
        for (i, (label, number)) in labelled.into_iter().enumerate() {
            if Some(i) == main && input.phone.is_none() {
                input.phone = Some(number);
                continue;
            }
            let base = match label.as_deref().map(field_key).filter(|k| !k.is_empty()) {
                Some(k) => format!("phone_{k}"),
                None => "phone_other".to_string(),
            };
            let mut key = base.clone();
            let mut n = 2;
            while used.contains(&key) {
                key = format!("{base}_{n}");
                n += 1;
            }
            used.push(key.clone());
            input.fields.push((key, number));
        }
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

    /// The detected file format, with the contacts app it comes from when the headers say so:
    /// `CSV (Google Contacts)`.
    pub fn format_name(&self, format: &str) -> String {
        match self.recognized {
            Some(app) => format!("{format} ({app})"),
            None => format.to_string(),
        }
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
                    Target::PhoneSlot { .. } => {
                        "phone_number (the first mobile), else custom field phone_<label>".into()
                    }
                    Target::PhoneLabel { .. } => "the label of that phone".to_string(),
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
mod tests;
