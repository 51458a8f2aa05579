//! The simulated world behaves as Telegram does where a crawler can tell.

use super::*;

fn world() -> Arc<World> {
    Arc::new(World::demo())
}

async fn chat(a: &SimAccount, name: &str) -> ChatRef {
    match a.resolve(&Target::Username(name.into())).await {
        Ok(Resolved::Chat(c)) => c,
        other => panic!("{name}: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_world_holds_the_targets_the_issue_names() {
    let w = world();
    let a = w.account("a");
    let small = chat(&a, "demo_small").await;
    let page = a.participants(small, &ParticipantFilter::Recent, 0, 200).await.unwrap();
    assert_eq!(page.total, 150);
    assert_eq!(page.members.iter().filter(|m| m.bot).count(), 3);
    assert_eq!(page.members.iter().filter(|m| m.deleted).count(), 2);
    let small_ids: HashSet<u64> = page.members.iter().map(|m| m.user_id).collect();

    let big = chat(&a, "demo_big").await;
    let big_chat = w.chat(big.id).unwrap();
    assert_eq!(big_chat.members.len(), 25_000);
    assert_eq!(big_chat.members.iter().filter(|id| small_ids.contains(id)).count(), 100);
    // Plain listing stops at 10,000 even though Telegram reports the true count.
    let last = a.participants(big, &ParticipantFilter::Recent, 9_900, 200).await.unwrap();
    assert_eq!((last.members.len(), last.total), (100, 25_000));
    assert!(a.participants(big, &ParticipantFilter::Recent, 10_000, 200).await.unwrap().members.is_empty());
    let a_search = a.participants(big, &ParticipantFilter::Search("a".into()), 0, 200).await.unwrap();
    assert_eq!(a_search.total, PARTICIPANTS_CAP, "a one-letter search saturates");

    let people = big_chat.members.iter().filter_map(|id| w.user(*id));
    let (mut named, mut phoned, n) = (0, 0, 25_000.0);
    for u in people {
        named += u.username.is_some() as u32;
        phoned += u.phone.is_some() as u32;
    }
    assert!((0.65..0.75).contains(&(named as f64 / n)), "{named}");
    assert!((0.07..0.13).contains(&(phoned as f64 / n)), "{phoned}");
}

#[tokio::test(start_paused = true)]
async fn hidden_lists_channels_and_invites_behave_like_telegram() {
    let w = world();
    let a = w.account("a");
    let hidden = chat(&a, "demo_hidden").await;
    let listed = a.participants(hidden, &ParticipantFilter::Recent, 0, 200).await.unwrap();
    assert_eq!(listed.members.len(), 5);
    let mut authors = HashSet::new();
    let (mut offset, mut messages) = (0, 0);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let page = a.history(hidden, offset, 100).await.unwrap();
        messages += page.messages;
        authors.extend(page.authors.iter().map(|m| m.user_id));
        match page.next_offset_id {
            Some(next) => offset = next,
            None => break,
        }
    }
    assert_eq!((messages, authors.len()), (3_000, 800));
    assert!(listed.members.iter().all(|m| authors.contains(&m.user_id)));

    let channel = chat(&a, "demo_channel").await;
    assert_eq!(a.participants(channel, &ParticipantFilter::Recent, 0, 200).await, Err(TgError::AdminRequired));
    let info = a.chat_info(channel).await.unwrap();
    assert_eq!(info.members, Some(40_000));
    let linked = info.linked.unwrap();
    assert_eq!(a.participants(linked, &ParticipantFilter::Recent, 0, 200).await.unwrap().total, 1_200);

    let invite = Target::Invite("demoinvite".into());
    assert_eq!(a.resolve(&invite).await, Ok(Resolved::Invite { title: "Demo Private".into(), members: 300 }));
    let joined = a.join("demoinvite").await.unwrap();
    assert_eq!(a.resolve(&invite).await, Ok(Resolved::Chat(joined)));
    // Another account's access hash is refused, and that account has not joined.
    let b = w.account("b");
    assert!(b.participants(joined, &ParticipantFilter::Recent, 0, 200).await.is_err());
}

#[tokio::test(start_paused = true)]
async fn exceeding_the_rate_gets_a_flood_wait_that_expires() {
    let w = world();
    let a = w.account("a");
    for _ in 0..RATE_BURST {
        a.me().await.unwrap();
    }
    assert_eq!(a.me().await, Err(TgError::FloodWait(FLOOD_PENALTY)));
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(a.me().await, Err(TgError::FloodWait(Duration::from_secs(2))));
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(a.me().await.is_ok());
    // Another account is not affected.
    assert!(w.account("b").me().await.is_ok());
}
