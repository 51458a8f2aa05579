//! The merge policy, as pure functions over a lead and a candidate: no I/O, so it is tested directly.

use std::borrow::Cow;

use crate::model::{ActivityKind, Candidate, FieldChange, Lead, MatchKey, Millis};

/// Which incoming identifiers must not be applied because another lead owns them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Withheld {
    pub username: bool,
    pub phone: bool,
}

/// A new lead from `cand`, which it consumes: a new lead is most rows of an import, and moving
/// the candidate's strings spares a copy of each.
pub fn create(
    id: u64,
    workspace: &str,
    actor: &str,
    now: Millis,
    cand: Candidate,
    withheld: Withheld,
) -> (Lead, Vec<ActivityKind>) {
    let Candidate {
        telegram_user_id,
        username,
        phone,
        first_name,
        last_name,
        country,
        language,
        photo,
        status,
        priority,
        group,
        mut groups,
        mut tags,
        remove_tags,
        mut fields,
        note,
        source,
        import,
        sighting,
    } = cand;
    groups.extend(group.iter().cloned());
    // In place: collecting into a new map would hash and allocate again.
    fields.retain(|_, v| !v.is_empty());
    for t in &remove_tags {
        tags.remove(t);
    }
    // The "created" entry is derived from the lead itself; only later events are stored.
    let mut log = Vec::new();
    if let Some(text) = note {
        log.push(ActivityKind::NoteAdded { text });
    }
    if let (true, Some(g)) = (sighting, &group) {
        log.push(ActivityKind::Sighted { group: g.clone() });
    }
    let lead = Lead {
        id,
        workspace: workspace.to_string(),
        telegram_user_id,
        username: if withheld.username { None } else { username },
        phone: if withheld.phone { None } else { phone },
        first_name: first_name.unwrap_or_default(),
        last_name: last_name.unwrap_or_default(),
        country,
        language,
        photo,
        source,
        status: status.unwrap_or_default(),
        priority: priority.unwrap_or_default(),
        group_name: group,
        groups,
        tags,
        custom_fields: fields,
        created_at: now,
        updated_at: now,
        created_by: actor.to_string(),
        created_import: import,
        history_len: 0,
        conversation: Default::default(),
    };
    (lead, log)
}

/// Merges `cand` into `existing`. `matched_on` is `None` for an explicit edit by id (no "merged" entry).
/// Returns the new lead and its history entries; no entries means nothing changed. The lead is
/// borrowed until something changes: most rows of a re-import change nothing, and a clone would be
/// most of their cost.
pub fn merge<'a>(
    existing: &'a Lead,
    cand: &Candidate,
    matched_on: Option<MatchKey>,
    withheld: Withheld,
    now: Millis,
) -> (Cow<'a, Lead>, Vec<ActivityKind>) {
    let mut lead = Cow::Borrowed(existing);
    let mut changes = Vec::new();
    let mut conflicts = Vec::new();

    let text = |field: &str, slot: &str, new: &Option<String>, changes: &mut Vec<FieldChange>| {
        let v = new.as_ref().filter(|v| v.as_str() != slot)?;
        changes.push(FieldChange { field: field.into(), old: slot.to_string(), new: v.clone() });
        Some(v.clone())
    };
    if let Some(v) = text("first_name", &lead.first_name, &cand.first_name, &mut changes) {
        lead.to_mut().first_name = v;
    }
    if let Some(v) = text("last_name", &lead.last_name, &cand.last_name, &mut changes) {
        lead.to_mut().last_name = v;
    }
    let opt = |field: &str, slot: &Option<String>, new: &Option<String>, changes: &mut Vec<FieldChange>| {
        let v = new.as_ref().filter(|v| slot.as_deref() != Some(v.as_str()))?;
        changes.push(FieldChange { field: field.into(), old: slot.clone().unwrap_or_default(), new: v.clone() });
        Some(Some(v.clone()))
    };
    if let Some(v) = opt("country", &lead.country, &cand.country, &mut changes) {
        lead.to_mut().country = v;
    }
    if let Some(v) = opt("language", &lead.language, &cand.language, &mut changes) {
        lead.to_mut().language = v;
    }
    if let Some(v) = opt("photo", &lead.photo, &cand.photo, &mut changes) {
        lead.to_mut().photo = v;
    }

    match (lead.telegram_user_id, cand.telegram_user_id) {
        (None, Some(uid)) => {
            changes.push(FieldChange { field: "telegram_user_id".into(), old: String::new(), new: uid.to_string() });
            lead.to_mut().telegram_user_id = Some(uid);
        }
        (Some(old), Some(new)) if old != new => conflicts.push(ActivityKind::Conflict {
            field: "telegram_user_id".into(),
            value: new.to_string(),
            other_lead: None,
        }),
        _ => {}
    }

    // A username can change on Telegram: the newest one wins, and the index moves with it.
    // A difference in case alone is the same name: keep the stored spelling.
    if let (Some(new), false) = (&cand.username, withheld.username) {
        let same = lead.username.as_ref().is_some_and(|u| u.eq_ignore_ascii_case(new));
        if !same {
            changes.push(FieldChange {
                field: "username".into(),
                old: lead.username.clone().unwrap_or_default(),
                new: new.clone(),
            });
            lead.to_mut().username = Some(new.clone());
        }
    }

    // Phones only fill in what was missing (or replace an unparseable one); a different valid
    // phone is recorded rather than silently overwriting the stored one.
    if let (Some(new), false) = (&cand.phone, withheld.phone) {
        match &lead.phone {
            None => {
                changes.push(FieldChange { field: "phone".into(), old: String::new(), new: new.display().to_string() });
                lead.to_mut().phone = Some(new.clone());
            }
            Some(old) if !old.is_valid() && new.is_valid() => {
                changes.push(FieldChange {
                    field: "phone".into(),
                    old: old.raw.clone(),
                    new: new.display().to_string(),
                });
                lead.to_mut().phone = Some(new.clone());
            }
            Some(old) if old.display() != new.display() => conflicts.push(ActivityKind::Conflict {
                field: "phone".into(),
                value: new.display().to_string(),
                other_lead: None,
            }),
            Some(_) => {}
        }
    }

    if let Some(g) = &cand.group {
        if lead.group_name.as_deref() != Some(g.as_str()) {
            changes.push(FieldChange {
                field: "group_name".into(),
                old: lead.group_name.clone().unwrap_or_default(),
                new: g.clone(),
            });
            lead.to_mut().group_name = Some(g.clone());
        }
        if !lead.groups.contains(g) {
            lead.to_mut().groups.insert(g.clone());
        }
    }
    let new_groups: Vec<&String> = cand.groups.iter().filter(|g| !lead.groups.contains(*g)).collect();
    if !new_groups.is_empty() {
        let old = lead.groups.iter().cloned().collect::<Vec<_>>().join("; ");
        let groups = &mut lead.to_mut().groups;
        groups.extend(new_groups.into_iter().cloned());
        changes.push(FieldChange {
            field: "groups".into(),
            old,
            new: groups.iter().cloned().collect::<Vec<_>>().join("; "),
        });
    }

    for (k, v) in &cand.fields {
        let old = lead.custom_fields.get(k).map(String::as_str).unwrap_or_default();
        if old != v {
            changes.push(FieldChange { field: k.clone(), old: old.to_string(), new: v.clone() });
            let fields = &mut lead.to_mut().custom_fields;
            if v.is_empty() {
                fields.shift_remove(k);
            } else {
                fields.insert(k.clone(), v.clone());
            }
        }
    }

    let mut log = Vec::new();
    if !changes.is_empty() {
        log.push(ActivityKind::FieldsUpdated { changes });
    }
    if let Some(s) = cand.status {
        if s != lead.status {
            log.push(ActivityKind::StatusChanged { from: lead.status, to: s });
            let lead = lead.to_mut();
            lead.status = s;
            // A person chose the status: a block is theirs now, never lifted automatically.
            lead.conversation.blocked_by = None;
        }
    }
    if let Some(p) = cand.priority {
        if p != lead.priority {
            log.push(ActivityKind::PriorityChanged { from: lead.priority, to: p });
            lead.to_mut().priority = p;
        }
    }
    let added: Vec<String> = cand.tags.difference(&lead.tags).cloned().collect();
    let removed: Vec<String> =
        cand.remove_tags.intersection(&lead.tags).filter(|t| !cand.tags.contains(*t)).cloned().collect();
    if !added.is_empty() || !removed.is_empty() {
        let tags = &mut lead.to_mut().tags;
        for t in &added {
            tags.insert(t.clone());
        }
        for t in &removed {
            tags.remove(t);
        }
        log.push(ActivityKind::TagsChanged { added, removed });
    }
    log.extend(conflicts);
    if let Some(note) = &cand.note {
        log.push(ActivityKind::NoteAdded { text: note.clone() });
    }
    if cand.sighting {
        if let Some(g) = &cand.group {
            log.push(ActivityKind::Sighted { group: g.clone() });
        }
    }
    if !log.is_empty() {
        lead.to_mut().updated_at = now;
        if let Some(on) = matched_on {
            log.insert(0, ActivityKind::Merged { source: cand.source, matched_on: on, import: cand.import });
        }
    }
    (lead, log)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LeadInput, Priority, Source, Status};

    /// `merge`, owning its result (the tests compare and keep leads).
    fn merged(
        existing: &Lead,
        cand: &Candidate,
        on: Option<MatchKey>,
        withheld: Withheld,
        now: Millis,
    ) -> (Lead, Vec<ActivityKind>) {
        let (lead, log) = merge(existing, cand, on, withheld, now);
        (lead.into_owned(), log)
    }

    #[test]
    fn an_unchanged_merge_borrows_and_a_change_owns() {
        let b = base();
        let same = LeadInput { first_name: Some("Alice".into()), ..Default::default() };
        let (lead, log) = merge(&b, &cand(same), Some(MatchKey::Username), Withheld::default(), 2);
        assert!(matches!(lead, Cow::Borrowed(_)) && log.is_empty());
        let other = LeadInput { first_name: Some("Alicia".into()), ..Default::default() };
        let (lead, log) = merge(&b, &cand(other), Some(MatchKey::Username), Withheld::default(), 2);
        assert!(matches!(lead, Cow::Owned(_)) && !log.is_empty());
        assert_eq!((lead.first_name.as_str(), lead.updated_at, b.first_name.as_str()), ("Alicia", 2, "Alice"));
    }

    fn cand(input: LeadInput) -> Candidate {
        input.validate(Source::FileUpload, Some("RU")).unwrap()
    }

    fn base() -> Lead {
        let c = LeadInput {
            username: Some("alice_k".into()),
            first_name: Some("Alice".into()),
            tags: vec!["vip".into()],
            fields: vec![("score".into(), "3".into())],
            ..Default::default()
        }
        .validate(Source::Manual, None)
        .unwrap();
        create(1, "u:me", "me", 1000, c, Withheld::default()).0
    }

    #[test]
    fn non_empty_values_replace_contact_details_and_empty_ones_do_not() {
        let (lead, log) = merged(
            &base(),
            &cand(LeadInput { first_name: Some("Alicia".into()), last_name: Some("".into()), ..Default::default() }),
            Some(MatchKey::Username),
            Withheld::default(),
            2000,
        );
        assert_eq!(lead.first_name, "Alicia");
        assert_eq!(lead.last_name, "");
        assert!(matches!(
            log[0],
            ActivityKind::Merged { source: Source::FileUpload, matched_on: MatchKey::Username, .. }
        ));
        assert!(
            matches!(&log[1], ActivityKind::FieldsUpdated { changes } if changes[0].old == "Alice" && changes[0].new == "Alicia")
        );
        assert_eq!(lead.updated_at, 2000);
    }

    #[test]
    fn tags_union_and_fields_merge_and_source_is_kept() {
        let (lead, _) = merged(
            &base(),
            &cand(LeadInput {
                tags: vec!["warm".into()],
                fields: vec![("Score".into(), "5".into()), ("city".into(), "Kazan".into())],
                ..Default::default()
            }),
            Some(MatchKey::Username),
            Withheld::default(),
            2000,
        );
        assert_eq!(lead.tags.iter().collect::<Vec<_>>(), ["vip", "warm"]);
        assert_eq!(lead.custom_fields.get("score").map(String::as_str), Some("5"));
        assert_eq!(lead.custom_fields.get("city").map(String::as_str), Some("Kazan"));
        assert_eq!(lead.source, Source::Manual);
    }

    #[test]
    fn status_and_priority_change_only_when_set_explicitly() {
        let mut blocked = base();
        blocked.status = Status::Blocked;
        let (lead, log) = merged(
            &blocked,
            &cand(LeadInput { first_name: Some("A".into()), ..Default::default() }),
            Some(MatchKey::Username),
            Withheld::default(),
            2,
        );
        assert_eq!(lead.status, Status::Blocked, "a blocked lead is never silently reactivated");
        assert_eq!(lead.priority, Priority::Medium);
        assert!(!log.iter().any(|e| matches!(e, ActivityKind::StatusChanged { .. })));
        let (lead, log) = merged(
            &blocked,
            &cand(LeadInput { status: Some("active".into()), priority: Some("high".into()), ..Default::default() }),
            None,
            Withheld::default(),
            2,
        );
        assert_eq!((lead.status, lead.priority), (Status::Active, Priority::High));
        assert!(log.contains(&ActivityKind::StatusChanged { from: Status::Blocked, to: Status::Active }));
    }

    #[test]
    fn identical_input_changes_nothing() {
        let b = base();
        let (lead, log) = merged(
            &b,
            &cand(LeadInput {
                username: Some("alice_k".into()),
                first_name: Some("Alice".into()),
                tags: vec!["VIP".into()],
                ..Default::default()
            }),
            Some(MatchKey::Username),
            Withheld::default(),
            2,
        );
        assert!(log.is_empty());
        assert_eq!(lead, b);
    }

    #[test]
    fn changed_username_is_updated_but_withheld_one_is_not() {
        let c = cand(LeadInput { username: Some("alice_new".into()), ..Default::default() });
        let (lead, _) = merged(&base(), &c, Some(MatchKey::TelegramUserId), Withheld::default(), 2);
        assert_eq!(lead.username.as_deref(), Some("alice_new"));
        let (lead, _) =
            merged(&base(), &c, Some(MatchKey::TelegramUserId), Withheld { username: true, phone: false }, 2);
        assert_eq!(lead.username.as_deref(), Some("alice_k"));
    }

    #[test]
    fn phone_fills_in_and_a_different_phone_is_recorded_not_overwritten() {
        let (lead, _) = merged(
            &base(),
            &cand(LeadInput { phone: Some("8 916 123 45 67".into()), ..Default::default() }),
            Some(MatchKey::Username),
            Withheld::default(),
            2,
        );
        assert_eq!(lead.phone_key(), Some("+79161234567"));
        let (lead2, log) = merged(
            &lead,
            &cand(LeadInput { phone: Some("+44 20 7946 0958".into()), ..Default::default() }),
            Some(MatchKey::Username),
            Withheld::default(),
            3,
        );
        assert_eq!(lead2.phone_key(), Some("+79161234567"));
        assert!(log.iter().any(|e| matches!(e, ActivityKind::Conflict { field, .. } if field == "phone")));
    }

    #[test]
    fn groups_accumulate_and_the_latest_is_the_group_name() {
        let (lead, _) = merged(
            &base(),
            &cand(LeadInput { group: Some("Rust RU".into()), ..Default::default() }),
            Some(MatchKey::Username),
            Withheld::default(),
            2,
        );
        let (lead, _) = merged(
            &lead,
            &cand(LeadInput { group: Some("Go RU".into()), ..Default::default() }),
            Some(MatchKey::Username),
            Withheld::default(),
            3,
        );
        assert_eq!(lead.group_name.as_deref(), Some("Go RU"));
        assert_eq!(lead.groups.len(), 2);
    }

    #[test]
    fn empty_field_value_removes_a_custom_field_and_tags_can_be_removed() {
        let (lead, log) = merged(
            &base(),
            &cand(LeadInput {
                fields: vec![("score".into(), "".into())],
                remove_tags: vec!["vip".into()],
                ..Default::default()
            }),
            None,
            Withheld::default(),
            2,
        );
        assert!(lead.custom_fields.is_empty());
        assert!(lead.tags.is_empty());
        assert!(log.contains(&ActivityKind::TagsChanged { added: vec![], removed: vec!["vip".into()] }));
    }
}
