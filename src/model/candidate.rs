use std::collections::BTreeSet;

use indexmap::IndexMap;

use super::{LeadError, Priority, Source, Status};
use crate::normalize::{self, Phone};

/// The standard columns, in the order exports write them. A custom field may not shadow one (nor
/// `phone`, the CLI's name for phone_number), so an exported CSV always re-imports into the same lead.
pub const STANDARD_FIELDS: &[&str] = &[
    "id",
    "telegram_user_id",
    "username",
    "phone_number",
    "first_name",
    "last_name",
    "country",
    "language",
    "source",
    "status",
    "priority",
    "group_name",
    "groups",
    "tags",
    "photo",
    "created_at",
    "updated_at",
    "created_by",
];

pub fn is_reserved_field(key: &str) -> bool {
    key == "phone" || STANDARD_FIELDS.contains(&key)
}

/// Raw, unvalidated input as it comes from a CLI flag, an import row or a form. Empty means "not given".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadInput {
    pub telegram_user_id: Option<String>,
    pub username: Option<String>,
    pub phone: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub country: Option<String>,
    pub language: Option<String>,
    pub photo: Option<String>,
    pub status: Option<String>,
    pub priority: Option<String>,
    pub group: Option<String>,
    /// Further groups the lead was found in (a reach export's `groups` column).
    pub groups: Vec<String>,
    pub tags: Vec<String>,
    pub remove_tags: Vec<String>,
    /// An empty value removes the field on an edit.
    pub fields: Vec<(String, String)>,
    pub note: Option<String>,
}

/// Validated, normalized input: the only thing the store's dedup upsert accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub telegram_user_id: Option<u64>,
    pub username: Option<String>,
    pub phone: Option<Phone>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub country: Option<String>,
    pub language: Option<String>,
    pub photo: Option<String>,
    pub status: Option<Status>,
    pub priority: Option<Priority>,
    pub group: Option<String>,
    pub groups: BTreeSet<String>,
    pub tags: BTreeSet<String>,
    pub remove_tags: BTreeSet<String>,
    pub fields: IndexMap<String, String>,
    pub note: Option<String>,
    pub source: Source,
    /// The import record this write belongs to, for history entries.
    pub import: Option<u64>,
    /// A crawl sighting: the group is recorded in history even when nothing else changed.
    pub sighting: bool,
}

fn given(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

impl LeadInput {
    /// Validates every field, naming the first one at fault. `default_region` resolves national
    /// phone formats when the lead has no country.
    pub fn validate(self, source: Source, default_region: Option<&str>) -> Result<Candidate, LeadError> {
        let telegram_user_id = match given(self.telegram_user_id) {
            None => None,
            Some(raw) => Some(parse_user_id(&raw)?),
        };
        let username = given(self.username).map(|u| normalize::normalize_username(&u)).transpose()?;
        let country = given(self.country).map(|c| normalize::normalize_country(&c)).transpose()?;
        let language = given(self.language).map(|l| normalize::normalize_language(&l)).transpose()?;
        let region = country.as_deref().or(default_region);
        let phone = given(self.phone).map(|p| normalize::normalize_phone(&p, region));
        let status = given(self.status)
            .map(|s| s.parse::<Status>().map_err(|e| LeadError::invalid("status", &s, e)))
            .transpose()?;
        let priority = given(self.priority)
            .map(|s| s.parse::<Priority>().map_err(|e| LeadError::invalid("priority", &s, e)))
            .transpose()?;
        let tags = self.tags.iter().map(|t| normalize::normalize_tag(t)).collect::<Result<_, _>>()?;
        let remove_tags = self.remove_tags.iter().map(|t| normalize::normalize_tag(t)).collect::<Result<_, _>>()?;
        let mut fields = IndexMap::new();
        for (k, v) in self.fields {
            let key = normalize::field_key(&k);
            if key.is_empty() {
                return Err(LeadError::invalid("field", &k, "a custom field needs a name"));
            }
            if is_reserved_field(&key) {
                return Err(LeadError::invalid(
                    "field",
                    &k,
                    format!("{key} is a standard field; set it with its own option"),
                ));
            }
            fields.insert(key, v.trim().to_string());
        }
        Ok(Candidate {
            telegram_user_id,
            username,
            phone,
            first_name: given(self.first_name),
            last_name: given(self.last_name),
            country,
            language,
            photo: given(self.photo),
            status,
            priority,
            group: given(self.group),
            groups: self.groups.iter().map(|g| g.trim().to_string()).filter(|g| !g.is_empty()).collect(),
            tags,
            remove_tags,
            fields,
            note: given(self.note),
            source,
            import: None,
            sighting: false,
        })
    }
}

pub fn parse_user_id(raw: &str) -> Result<u64, LeadError> {
    let t = raw.trim();
    // Spreadsheets turn ids into floats: accept "123456789.0" but not "1.5".
    let t = t.strip_suffix(".0").unwrap_or(t);
    match t.parse::<u64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(LeadError::invalid("telegram_user_id", raw, "expected a positive whole number")),
    }
}

impl Candidate {
    /// A phone in a national format that the candidate's own region could not read is read again
    /// with the region of the lead it is merged into (the lead's country comes before the default).
    pub fn with_lead_region(&self, country: Option<&str>) -> Option<Candidate> {
        let phone = self.phone.as_ref().filter(|p| !p.is_valid())?;
        let reread = normalize::normalize_phone(&phone.raw, Some(country?));
        reread.is_valid().then(|| Candidate { phone: Some(reread), ..self.clone() })
    }

    /// A new lead needs an identifier that can be matched: a user id, a username or a parseable phone.
    pub fn check_identifiable(&self) -> Result<(), LeadError> {
        if self.telegram_user_id.is_some() || self.username.is_some() {
            return Ok(());
        }
        match &self.phone {
            Some(p) if p.is_valid() => Ok(()),
            Some(p) => Err(LeadError::invalid(
                "phone",
                &p.raw,
                "cannot be parsed as a phone number (set a country or default_region for national formats), and the lead has no other identifier",
            )),
            None => Err(LeadError::invalid(
                "identifier",
                "",
                "a lead needs a telegram user id, a username or a phone",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> LeadInput {
        LeadInput::default()
    }

    #[test]
    fn validates_and_names_the_field() {
        let err = LeadInput { username: Some("ab".into()), ..input() }.validate(Source::Manual, None).unwrap_err();
        assert_eq!(err.field, "username");
        let err = LeadInput { status: Some("gone".into()), username: Some("alice".into()), ..input() }
            .validate(Source::Manual, None)
            .unwrap_err();
        assert_eq!(err.field, "status");
        let err = LeadInput { fields: vec![("Country".into(), "x".into())], ..input() }
            .validate(Source::Manual, None)
            .unwrap_err();
        assert_eq!(err.field, "field");
    }

    #[test]
    fn phone_region_comes_from_country_then_default() {
        let c = LeadInput { phone: Some("8 916 123 45 67".into()), country: Some("ru".into()), ..input() }
            .validate(Source::Manual, Some("GB"))
            .unwrap();
        assert_eq!(c.phone.unwrap().e164.as_deref(), Some("+79161234567"));
        let c =
            LeadInput { phone: Some("020 7946 0958".into()), ..input() }.validate(Source::Manual, Some("GB")).unwrap();
        assert_eq!(c.phone.unwrap().e164.as_deref(), Some("+442079460958"));
    }

    #[test]
    fn unparseable_phone_alone_is_rejected_but_kept_with_another_identifier() {
        let c = LeadInput { phone: Some("not a phone".into()), ..input() }.validate(Source::Manual, None).unwrap();
        assert_eq!(c.check_identifiable().unwrap_err().field, "phone");
        let c = LeadInput { phone: Some("not a phone".into()), username: Some("@alice".into()), ..input() }
            .validate(Source::Manual, None)
            .unwrap();
        assert!(c.check_identifiable().is_ok());
        assert_eq!(c.phone.unwrap().raw, "not a phone");
    }

    #[test]
    fn no_identifier_is_rejected() {
        let c = LeadInput { first_name: Some("Ann".into()), ..input() }.validate(Source::Manual, None).unwrap();
        assert_eq!(c.check_identifiable().unwrap_err().field, "identifier");
    }

    #[test]
    fn user_ids_from_spreadsheets() {
        assert_eq!(parse_user_id("123456789.0").unwrap(), 123456789);
        assert!(parse_user_id("1.5").is_err());
        assert!(parse_user_id("0").is_err());
        assert!(parse_user_id("-4").is_err());
    }
}
