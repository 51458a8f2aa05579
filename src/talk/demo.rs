//! `reach --demo`'s conversations: a few already under way when the demo opens, told through the
//! simulated Telegram so the demo's runners receive them like any others.

use std::path::Path;

use crate::crawl::backend::shared_world;
use crate::telegram::sim::chat::{first_user_id, persona, Persona, SimChat};
use crate::telegram::TgResult;

/// Seeds the simulated conversations of a fresh demo data dir; a dir that has them is left alone.
pub fn seed(data_dir: &Path, accounts: &[&str]) -> TgResult<()> {
    if SimChat::exists(data_dir) {
        return Ok(());
    }
    let w = shared_world();
    let first = first_user_id();
    // People from beyond @demo_small (its 150 members come first), so crawling it meets none of them.
    let mut people = (first + 207..first + 30_000)
        .step_by(97)
        .filter(|id| w.user(*id).is_some_and(|u| !u.bot && !u.deleted && u.username.is_some()))
        .filter(|id| matches!(persona(*id), Persona::Talker { replies: true }));
    for name in accounts {
        let chat = SimChat::new(w.clone(), name, data_dir);
        let past: [&[(bool, &str, i64)]; 3] = [
            &[
                (true, "Hi! We saw you in Demo Small. Are you still looking for a designer?", 600),
                (false, "Hi, yes, depends on the price", 540),
                (true, "Our rates start at $40/hour. Shall I send the portfolio?", 530),
                (false, "Sure, send it", 60),
            ],
            &[
                (false, "Hello, is the offer from your post still valid?", 300),
                (true, "Yes, until Friday. Want me to reserve one for you?", 290),
                (false, "Let me think about it", 280),
            ],
            &[(false, "Привет! Можно подробнее про условия?", 3)],
        ];
        for lines in past {
            let Some(user) = people.next() else { break };
            chat.seed_past(user, lines)?;
        }
    }
    Ok(())
}
