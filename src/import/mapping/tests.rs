//! Header matching, aliases, overrides, and the contacts apps' exports.

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

#[test]
fn a_google_contacts_export_is_recognized_with_its_phones_and_labels() {
    let headers = h(&[
        "First Name",
        "Middle Name",
        "Last Name",
        "Labels",
        "E-mail 1 - Label",
        "E-mail 1 - Value",
        "Phone 1 - Label",
        "Phone 1 - Value",
        "Phone 2 - Label",
        "Phone 2 - Value",
    ]);
    let m = Mapping::new(&headers, &[]).unwrap();
    assert_eq!(m.recognized, Some("Google Contacts"));
    assert_eq!(m.format_name("CSV"), "CSV (Google Contacts)");
    let row = h(&[
        "Anna",
        "",
        "Kim",
        "* myContacts ::: Friends ::: VIP",
        "* Home",
        "anna@example.com",
        "Work",
        "+44 20 7946 0958",
        "Mobile",
        "+7 916 123-45-67 ::: +7 916 765-43-21",
    ]);
    let input = m.apply(&row, &[]);
    assert_eq!((input.first_name.as_deref(), input.last_name.as_deref()), (Some("Anna"), Some("Kim")));
    assert_eq!(input.phone.as_deref(), Some("+7 916 123-45-67"), "the first mobile number");
    assert_eq!(input.tags, h(&["Friends", "VIP"]), "Google's own group is no tag");
    let fields: Vec<(&str, &str)> = input.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert!(fields.contains(&("phone_work", "+44 20 7946 0958")), "{fields:?}");
    assert!(fields.contains(&("phone_mobile", "+7 916 765-43-21")), "{fields:?}");
    assert!(fields.contains(&("e_mail_1_value", "anna@example.com")), "{fields:?}");
}

#[test]
fn an_older_google_export_keeps_its_full_name_apart_from_the_given_name() {
    let m = Mapping::new(
        &h(&["Name", "Given Name", "Family Name", "Group Membership", "Phone 1 - Type", "Phone 1 - Value"]),
        &[],
    )
    .unwrap();
    assert_eq!(m.recognized, Some("Google Contacts"));
    let input = m.apply(&h(&["Ivan Petrov", "Ivan", "Petrov", "", "Home", "+79161234567"]), &[]);
    assert_eq!((input.first_name.as_deref(), input.last_name.as_deref()), (Some("Ivan"), Some("Petrov")));
    assert_eq!(input.phone.as_deref(), Some("+79161234567"), "no mobile: the first number");
    assert_eq!(input.fields, vec![("name".to_string(), "Ivan Petrov".to_string())]);
}

#[test]
fn an_outlook_export_is_recognized_with_its_named_phone_columns() {
    let headers =
        h(&["First Name", "Last Name", "E-mail Address", "Business Phone", "Home Phone", "Mobile Phone", "Categories"]);
    let m = Mapping::new(&headers, &[]).unwrap();
    assert_eq!(m.recognized, Some("Outlook"));
    let input =
        m.apply(&h(&["Bob", "Lee", "bob@example.com", "+1 212 555 0100", "", "+1 917 555 0101", "Clients;Hot"]), &[]);
    assert_eq!(input.phone.as_deref(), Some("+1 917 555 0101"));
    assert!(input.fields.contains(&("phone_work".to_string(), "+1 212 555 0100".to_string())), "{:?}", input.fields);
    assert_eq!(input.tags, h(&["Clients", "Hot"]));
}

#[test]
fn a_telethon_scraper_member_file_maps_as_it_always_did() {
    let m = Mapping::new(&h(&["username", "user id", "access hash", "name", "group", "group id"]), &[]).unwrap();
    assert_eq!(m.recognized, None);
    assert_eq!(m.targets[0], Target::Std(Std::Username));
    assert_eq!(m.targets[1], Target::Std(Std::UserId));
    assert_eq!(m.targets[3], Target::Std(Std::FirstName));
    assert_eq!(m.targets[4], Target::Std(Std::Group));
    let input = m.apply(&h(&["durov_fan", "123456789", "-8825", "Pavel", "Rust Moscow", "-100123"]), &[]);
    assert_eq!((input.username.as_deref(), input.telegram_user_id.as_deref()), (Some("durov_fan"), Some("123456789")));
}
