//! The login conversation, shared by `reach account add` and the TUI: phone, code, then the
//! two-step password when the account has one. What to ask is the caller's [`Prompt`].

use super::{Authenticator, Me, SignIn, TgError};

/// Asks the person at the keyboard. `None` means they gave up.
pub trait Prompt {
    fn code(&mut self, phone: &str) -> Option<String>;
    fn password(&mut self, hint: Option<&str>) -> Option<String>;
    /// A wrong code or password, before asking again.
    fn retry(&mut self, error: &TgError);
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("login cancelled")]
    Cancelled,
    #[error(transparent)]
    Telegram(#[from] TgError),
    #[error("too many wrong attempts")]
    TooManyAttempts,
}

const ATTEMPTS: usize = 3;

fn wrong_code(e: &TgError) -> bool {
    matches!(e, TgError::Rpc(name) if name == "PHONE_CODE_INVALID" || name == "PASSWORD_HASH_INVALID")
}

/// Logs in unless the session already is; three tries each for the code and the password.
pub async fn login<A: Authenticator>(auth: &A, phone: &str, prompt: &mut dyn Prompt) -> Result<Me, LoginError> {
    if let Some(me) = auth.is_authorized().await? {
        return Ok(me);
    }
    auth.request_code(phone).await?;
    let mut hint = None;
    let mut signed = None;
    for _ in 0..ATTEMPTS {
        let code = prompt.code(phone).ok_or(LoginError::Cancelled)?;
        match auth.sign_in(&code).await {
            Ok(SignIn::Done(me)) => return Ok(me),
            Ok(SignIn::PasswordRequired { hint: h }) => {
                hint = h;
                signed = Some(());
                break;
            }
            Err(e) if wrong_code(&e) => prompt.retry(&e),
            Err(e) => return Err(e.into()),
        }
    }
    if signed.is_none() {
        return Err(LoginError::TooManyAttempts);
    }
    for _ in 0..ATTEMPTS {
        let password = prompt.password(hint.as_deref()).ok_or(LoginError::Cancelled)?;
        match auth.check_password(&password).await {
            Ok(me) => return Ok(me),
            Err(e) if wrong_code(&e) => prompt.retry(&e),
            Err(e) => return Err(e.into()),
        }
    }
    Err(LoginError::TooManyAttempts)
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Arc;

    use super::*;
    use crate::telegram::sim::{World, LOGIN_CODE, TWO_FA_PASSWORD};

    /// Answers from a script and records what it was asked.
    #[derive(Default)]
    struct Script {
        answers: VecDeque<&'static str>,
        asked: Vec<String>,
    }

    impl Prompt for Script {
        fn code(&mut self, phone: &str) -> Option<String> {
            self.asked.push(format!("code for {phone}"));
            self.answers.pop_front().map(str::to_string)
        }
        fn password(&mut self, hint: Option<&str>) -> Option<String> {
            self.asked.push(format!("password ({})", hint.unwrap_or("-")));
            self.answers.pop_front().map(str::to_string)
        }
        fn retry(&mut self, error: &TgError) {
            self.asked.push(format!("retry: {error}"));
        }
    }

    fn script(answers: &[&'static str]) -> Script {
        Script { answers: answers.iter().copied().collect(), asked: Vec::new() }
    }

    #[tokio::test]
    async fn a_code_logs_in_and_a_second_login_asks_nothing() {
        let acct = Arc::new(World::demo()).account("one");
        let mut s = script(&["11111", LOGIN_CODE]);
        let me = login(&acct, "+15550001", &mut s).await.unwrap();
        assert_eq!(me.user_id, 9_000_550_001);
        assert_eq!(s.asked, ["code for +15550001", "retry: telegram: PHONE_CODE_INVALID", "code for +15550001"]);
        let mut again = script(&[]);
        assert_eq!(login(&acct, "+15550001", &mut again).await, Ok(me));
        assert!(again.asked.is_empty());
    }

    #[tokio::test]
    async fn two_step_accounts_are_asked_for_the_password() {
        let acct = Arc::new(World::demo()).account("two");
        let mut s = script(&[LOGIN_CODE, "wrong", TWO_FA_PASSWORD]);
        assert!(login(&acct, "+15550009", &mut s).await.is_ok());
        assert_eq!(s.asked[1], "password (the demo password)");
        assert_eq!(s.asked.len(), 4);
    }

    #[tokio::test]
    async fn giving_up_or_failing_three_times_ends_the_login() {
        let w = Arc::new(World::demo());
        assert_eq!(login(&w.account("x"), "+15550001", &mut script(&[])).await, Err(LoginError::Cancelled));
        let three = script(&["1", "2", "3"]);
        assert_eq!(login(&w.account("y"), "+15550001", &mut { three }).await, Err(LoginError::TooManyAttempts));
        assert_eq!(
            login(&w.account("z"), "not a phone", &mut script(&[])).await,
            Err(LoginError::Telegram(TgError::Rpc("PHONE_NUMBER_INVALID".into())))
        );
    }
}
