use phonenumber::country;
use phonenumber::metadata::Database;
use serde::{Deserialize, Serialize};

/// A phone as the user gave it, plus its E.164 form when libphonenumber could parse and validate it.
/// `e164 == None` is the "unparseable" flag: the raw text is kept, never dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    pub raw: String,
    pub e164: Option<String>,
}

impl Phone {
    pub fn is_valid(&self) -> bool {
        self.e164.is_some()
    }

    /// The form shown and exported: E.164 where known, else the raw text.
    pub fn display(&self) -> &str {
        self.e164.as_deref().unwrap_or(&self.raw)
    }
}

/// libphonenumber's "is possible number": the national number's length is one the region's
/// metadata allows. It is the lenient check libphonenumber offers next to full validation; full
/// validation matches every number-range regex under one global lock and costs 2-3x the parse, which
/// would cap imports far below their target. Parsing still rejects what is not a phone at all.
fn is_possible(db: &Database, number: &phonenumber::PhoneNumber) -> bool {
    let len = number.national().to_string().len() as u16;
    use phonenumber::Type;
    const KINDS: [Type; 9] = [
        Type::FixedLine,
        Type::Mobile,
        Type::TollFree,
        Type::PremiumRate,
        Type::SharedCost,
        Type::PersonalNumber,
        Type::Voip,
        Type::Pager,
        Type::Uan,
    ];
    db.by_code(&number.code().value()).is_some_and(|metas| {
        metas.iter().any(|m| {
            let d = m.descriptors();
            d.general().possible_length().contains(&len)
                || KINDS.iter().filter_map(|k| d.get(*k)).any(|desc| desc.possible_length().contains(&len))
        })
    })
}

/// phonenumber keeps its compiled regexes in one LRU of 100 entries; numbers from many countries
/// need more than that, and every eviction recompiles a regex.
const REGEX_CACHE: usize = 1 << 16;

/// The metadata phonenumber's own database is built from (the pinned version's file), for the
/// databases of import threads below.
const METADATA_XML: &str = include_str!("../../assets/PhoneNumberMetadata.xml");

thread_local! {
    /// An import's worker thread's own database. phonenumber matches every regex while holding
    /// its database's one cache lock, so threads sharing a database take turns: with one each,
    /// a 2-core import normalizes phones 2.2x faster. Loading one takes about 55 ms, so only
    /// rayon's workers (the bulk normalizers) have one; `None` if it could not be loaded.
    static OWN: Option<Database> = rayon::current_thread_index().and_then(|_| {
        let db = Database::parse(METADATA_XML).ok()?;
        if let Ok(mut cache) = db.cache().lock() {
            cache.set_capacity(REGEX_CACHE);
        }
        Some(db)
    });
}

/// phonenumber's own database, its regex cache raised once.
fn shared() -> &'static Database {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(mut cache) = phonenumber::metadata::DATABASE.cache().lock() {
            cache.set_capacity(REGEX_CACHE);
        }
    });
    &phonenumber::metadata::DATABASE
}

/// Normalizes to E.164. `region` resolves national formats (the lead's country, then the configured default).
pub fn normalize_phone(raw: &str, region: Option<&str>) -> Phone {
    OWN.with(|own| normalize_with(own.as_ref().unwrap_or_else(|| shared()), raw, region))
}

fn normalize_with(db: &Database, raw: &str, region: Option<&str>) -> Phone {
    let trimmed = raw.trim();
    let region_id = region.and_then(|r| r.trim().to_ascii_uppercase().parse::<country::Id>().ok());
    let mut attempts: Vec<(Option<country::Id>, String)> = Vec::with_capacity(2);
    // `00` is the international prefix in most of the world but not in every region's metadata
    // (RU dials 810, US 011), so a 00-number is read as + first.
    if let Some(rest) = trimmed.strip_prefix("00") {
        attempts.push((None, format!("+{rest}")));
    }
    attempts.push((region_id, trimmed.to_string()));
    // Exports from spreadsheets often lose the `+`: an 11+ digit string is tried as international too.
    let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
    if !trimmed.starts_with('+') && !trimmed.starts_with("00") && digits.len() >= 11 {
        attempts.push((None, format!("+{digits}")));
    }
    for (region, text) in attempts {
        if let Ok(number) = phonenumber::parse_with(db, region, &text) {
            if is_possible(db, &number) {
                // E.164 is "+", the calling code and the national number (with any Italian leading
                // zeros); built directly because the crate's formatter costs as much as the parse.
                let e164 = format!("+{}{}", number.code().value(), number.national());
                return Phone { raw: trimmed.to_string(), e164: Some(e164) };
            }
        }
    }
    Phone { raw: trimmed.to_string(), e164: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(raw: &str, region: Option<&str>) -> Option<String> {
        normalize_phone(raw, region).e164
    }

    #[test]
    fn russian_national_trunk_prefix() {
        assert_eq!(e164("8 (916) 123-45-67", Some("RU")).as_deref(), Some("+79161234567"));
        assert_eq!(e164("+7 916 123 45 67", None).as_deref(), Some("+79161234567"));
    }

    #[test]
    fn british_with_and_without_bracketed_zero() {
        assert_eq!(e164("+44 (0)20 7946 0958", None).as_deref(), Some("+442079460958"));
        assert_eq!(e164("020 7946 0958", Some("GB")).as_deref(), Some("+442079460958"));
    }

    #[test]
    fn brazilian_nine_digit_mobiles() {
        assert_eq!(e164("(11) 91234-5678", Some("BR")).as_deref(), Some("+5511912345678"));
        assert_eq!(e164("+55 21 98765-4321", None).as_deref(), Some("+5521987654321"));
    }

    #[test]
    fn double_zero_international_prefix() {
        assert_eq!(e164("0044 20 7946 0958", Some("GB")).as_deref(), Some("+442079460958"));
        // RU's own international prefix is 810, but 00 is what people write.
        assert_eq!(e164("0044 20 7946 0958", Some("RU")).as_deref(), Some("+442079460958"));
        assert_eq!(e164("00 7 916 123 45 67", None).as_deref(), Some("+79161234567"));
    }

    #[test]
    fn mixed_dashes_and_spaces() {
        assert_eq!(e164("+7-916 123-45 67", None).as_deref(), Some("+79161234567"));
        assert_eq!(e164("916-123 4567", Some("RU")).as_deref(), Some("+79161234567"));
        assert_eq!(e164("+1 (415) 555-2671", None).as_deref(), Some("+14155552671"));
    }

    #[test]
    fn italian_leading_zero_is_kept() {
        assert_eq!(e164("06 6982 0000", Some("IT")).as_deref(), Some("+390669820000"));
    }

    #[test]
    fn missing_plus_from_spreadsheets() {
        assert_eq!(e164("79161234567", None).as_deref(), Some("+79161234567"));
    }

    #[test]
    fn unparseable_is_kept_raw_and_flagged() {
        let p = normalize_phone("  call me maybe ", Some("RU"));
        assert_eq!(p.raw, "call me maybe");
        assert!(!p.is_valid());
        // A national number without a region cannot be resolved.
        assert!(!normalize_phone("020 7946 0958", None).is_valid());
        assert!(!normalize_phone("12", Some("GB")).is_valid());
    }

    #[test]
    fn an_import_workers_own_database_reads_numbers_as_the_shared_one_does() {
        let cases: [(&str, Option<&str>); 10] = [
            ("8 (916) 123-45-67", Some("RU")),
            ("+44 (0)20 7946 0958", None),
            ("(11) 91234-5678", Some("BR")),
            ("0044 20 7946 0958", Some("GB")),
            ("06 6982 0000", Some("IT")),
            ("79161234567", None),
            ("015 1234 5678", Some("DE")),
            ("001 212 555 0199", Some("US")),
            ("call me maybe", Some("RU")),
            ("020 7946 0958", None),
        ];
        let shared: Vec<Phone> = cases.iter().map(|(raw, region)| normalize_phone(raw, *region)).collect();
        assert!(OWN.with(|own| own.is_none()), "a thread outside rayon's pool uses the shared database");
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().expect("a pool of one thread");
        let (own, had_own) = pool.install(|| {
            let own: Vec<Phone> = cases.iter().map(|(raw, region)| normalize_phone(raw, *region)).collect();
            (own, OWN.with(|own| own.is_some()))
        });
        assert!(had_own, "a worker loads its own database");
        assert_eq!(own, shared);
    }
}
