//! Rows read, filter, count and sort like the leads they are made from.

use super::*;
use crate::model::{LeadInput, Source};
use crate::store::merge::{create, Withheld};

fn lead(id: u64, input: LeadInput) -> Lead {
    let c = input.validate(Source::Manual, None).unwrap();
    create(id, "u:ann", "ann", id as i64, c, Withheld::default()).0
}

/// A lead with a conversation: unread messages, and the other flags when `all`.
fn talking(id: u64, unread: u32, last: i64, all: bool) -> Lead {
    let mut l = full(id);
    l.conversation.unread = unread;
    l.conversation.last_message_at = (last > 0).then_some(last);
    l.conversation.do_not_contact = all;
    l.conversation.cant_message = all.then_some(crate::model::CantMessage::Privacy);
    l
}

fn full(id: u64) -> Lead {
    lead(
        id,
        LeadInput {
            first_name: Some("Ivan".into()),
            last_name: Some("Petrov".into()),
            username: Some("ivan_p".into()),
            phone: Some("+7 916 123-45-67".into()),
            country: Some("RU".into()),
            language: Some("ru".into()),
            tags: vec!["vip".into(), "rust".into()],
            group: Some("Rust Moscow".into()),
            ..Default::default()
        },
    )
}

#[test]
fn a_row_reads_like_its_lead() {
    let mut strings = Strings::default();
    let l = full(3);
    let r = Row::of(&l, &mut strings);
    assert_eq!((r.first_name(), r.last_name(), r.username()), ("Ivan", "Petrov", "ivan_p"));
    assert_eq!(r.phone(), l.phone.as_ref().unwrap().display());
    assert_eq!(r.display_name(), l.display_name());
    let mut want = l.all_facets();
    let mut got = r.facets(&strings);
    want.sort();
    got.sort();
    assert_eq!(got, want);
    let only_id = lead(4, LeadInput { telegram_user_id: Some("77".into()), ..Default::default() });
    assert_eq!(Row::of(&only_id, &mut strings).display_name(), only_id.display_name());
    for l in [talking(5, 2, 9, true), talking(6, 0, 9, false), talking(7, 1, 0, false)] {
        let r = Row::of(&l, &mut strings);
        let (mut want, mut got) = (l.all_facets(), r.facets(&strings));
        want.sort();
        got.sort();
        assert_eq!(got, want, "#{}", l.id);
        assert_eq!(r.flags().collect::<Vec<_>>(), l.flags().collect::<Vec<_>>());
        assert_eq!((r.unread, r.last_message_at), (l.conversation.unread, l.conversation.last_message_at.unwrap_or(0)));
    }
}

#[test]
fn row_filters_agree_with_lead_filters() {
    let mut strings = Strings::default();
    let leads = [
        full(1),
        lead(2, LeadInput { username: Some("anna_k".into()), ..Default::default() }),
        talking(3, 2, 50, true),
        talking(4, 1, 40, false),
    ];
    let rows: Vec<Row> = leads.iter().map(|l| Row::of(l, &mut strings)).collect();
    use crate::model::Flag;
    let filters = [
        Filter::default(),
        Filter { tags: vec!["vip".into()], ..Default::default() },
        Filter { tags: vec!["vip".into(), "nowhere".into()], ..Default::default() },
        Filter { group: vec!["Rust Moscow".into(), "nowhere".into()], ..Default::default() },
        Filter { country: vec!["RU".into()], ..Default::default() },
        Filter { language: vec!["en".into()], ..Default::default() },
        Filter { status: vec![Status::Archived], ..Default::default() },
        Filter { created_by: Some("ann".into()), ..Default::default() },
        Filter { created_by: Some("bob".into()), ..Default::default() },
        Filter { flags: vec![Flag::Unread], ..Default::default() },
        Filter { flags: vec![Flag::Unread, Flag::DoNotContact], ..Default::default() },
        Filter { flags: vec![Flag::CantMessage], ..Default::default() },
        Filter { flags: vec![Flag::DoNotContact], tags: vec!["vip".into()], ..Default::default() },
    ];
    for f in &filters {
        let rf = RowFilter::new(f, None, &strings);
        for (l, r) in leads.iter().zip(&rows) {
            assert_eq!(rf.matches(r), f.matches(l), "{f:?} on #{}", l.id);
        }
    }
}

#[test]
fn facet_counts_agree_with_the_leads() {
    let leads = [
        full(1),
        full(2),
        lead(3, LeadInput { username: Some("anna_k".into()), ..Default::default() }),
        talking(4, 3, 10, true),
        talking(5, 1, 20, false),
    ];
    let mut strings = Strings::default();
    let rows = Rows::new(leads.iter().map(|l| Row::of(l, &mut strings)).collect(), strings);
    let mut want = std::collections::BTreeMap::new();
    for k in leads.iter().flat_map(|l| l.all_facets()) {
        *want.entry(k).or_insert(0u64) += 1;
    }
    assert_eq!(rows.facet_counts(), want);
}

#[test]
fn rows_sort_like_leads_on_every_column_both_ways() {
    use crate::store::SortField::*;
    let mut leads = vec![
        full(1),
        lead(2, LeadInput { username: Some("Zed_Kay".into()), country: Some("DE".into()), ..Default::default() }),
        lead(3, LeadInput { phone: Some("+44 20 7946 0958".into()), ..Default::default() }),
        lead(
            4,
            LeadInput {
                first_name: Some("anna".into()),
                username: Some("anna_b".into()),
                group: Some("alpha".into()),
                status: Some("blocked".into()),
                priority: Some("low".into()),
                ..Default::default()
            },
        ),
        lead(
            5,
            LeadInput { first_name: Some("Ivan".into()), telegram_user_id: Some("5".into()), ..Default::default() },
        ),
    ];
    for (i, l) in leads.iter_mut().enumerate() {
        // Distinct times, in an order unlike the ids.
        l.updated_at = [30, 10, 50, 20, 40][i];
        l.created_at = [5, 4, 3, 2, 1][i];
    }
    let rows = Rows::from_leads(&leads);
    for field in [Id, Name, Username, Phone, Status, Priority, Source, Group, Country, Created, Updated] {
        for descending in [false, true] {
            let key = SortKey { field, descending };
            let mut want = leads.clone();
            key.sort(&mut want);
            let mut got: Vec<&Row> = rows.iter().collect();
            sort(&mut got, key, &rows.strings);
            let want: Vec<u64> = want.iter().map(|l| l.id).collect();
            let got: Vec<u64> = got.iter().map(|r| r.id).collect();
            assert_eq!(got, want, "{field:?} descending={descending}");
            let mut by_compare: Vec<&Row> = rows.iter().collect();
            by_compare.sort_by(|a, b| compare(a, b, key, &rows.strings));
            let by_compare: Vec<u64> = by_compare.iter().map(|r| r.id).collect();
            assert_eq!(by_compare, want, "compare, {field:?} descending={descending}");
        }
    }
}

#[test]
fn the_inbox_order_is_newest_message_first_by_sort_and_by_compare() {
    let leads = [talking(1, 1, 30, false), talking(2, 0, 0, false), talking(3, 2, 50, false), talking(4, 1, 30, true)];
    let rows = Rows::from_leads(&leads);
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sort(&mut sorted, ListOrder::NewestMessage, &rows.strings);
    let ids: Vec<u64> = sorted.iter().map(|r| r.id).collect();
    assert_eq!(ids, [3, 4, 1, 2], "equal times: the newer lead first; no messages last");
    let mut by_compare: Vec<&Row> = rows.iter().collect();
    by_compare.sort_by(|a, b| compare(a, b, ListOrder::NewestMessage, &rows.strings));
    assert_eq!(by_compare.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
}

#[test]
fn an_upsert_hands_back_the_row_it_replaced() {
    let mut rows = Rows::from_leads(&[full(1)]);
    let mut changed = full(1);
    changed.tags = ["cold".to_string()].into();
    let old = rows.upsert(&changed).expect("the old row");
    assert_eq!(old.tags().map(|t| rows.str(t).to_string()).collect::<Vec<_>>(), ["rust", "vip"]);
    let now = rows.get(1).unwrap();
    assert_eq!(now.tags().map(|t| rows.str(t).to_string()).collect::<Vec<_>>(), ["cold"]);
}

#[test]
fn rows_stay_sorted_by_id_through_upserts_and_removals() {
    let mut rows = Rows::new(vec![], Strings::default());
    for id in [5, 2, 9] {
        assert!(rows.upsert(&full(id)).is_none());
    }
    assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), [2, 5, 9]);
    assert!(rows.upsert(&full(5)).is_some());
    assert_eq!(rows.remove(&[7, 2]), 1);
    assert!(rows.get(2).is_none());
    assert_eq!(rows.get(9).map(|r| r.id), Some(9));
    assert_eq!(rows.len(), 2);
}
