//! People's accounts as the rules say: checked usernames and passwords,
//! passwords kept as hashes, the first admin, and when repeated failures
//! lock an account. The HTTP side is in [`crate::http::users`] and
//! [`crate::http::session`].

use sonde_protocol::account::{NewUser, Role, check_password, check_sites, check_username};

use super::password;
use crate::error::AppError;
use crate::store::{AccountStore, StoreError, StoredUser};

/// Failed sign-ins in a row that lock an account.
pub const MAX_FAILED_SIGN_INS: u32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;
/// How long a session lasts.
pub const SESSION_MS: i64 = 14 * 24 * 60 * 60 * 1000;

/// A person's failed sign-ins and lock after one more failure at `now`. A
/// lock that has run out starts the count again.
pub fn after_failure(failed: u32, locked_until: Option<i64>, now: i64) -> (u32, Option<i64>) {
    let before = if locked_until.is_some_and(|until| until <= now) {
        0
    } else {
        failed
    };
    let failed = before + 1;
    let lock = (failed >= MAX_FAILED_SIGN_INS).then_some(now + LOCKOUT_MS);
    (failed, lock)
}

/// The first admin's username.
pub const FIRST_ADMIN: &str = "admin";

/// Stores a person with a checked username, password and sites (each one
/// `known_site`), hashing a new password.
pub fn put(
    accounts: &dyn AccountStore,
    user: &NewUser,
    known_site: impl Fn(&str) -> bool,
) -> Result<(), AppError> {
    let invalid = |field: &str| {
        let field = field.to_owned();
        move |message| AppError::InvalidField { field, message }
    };
    check_username(&user.username).map_err(invalid("username"))?;
    check_password(&user.password).map_err(invalid("password"))?;
    check_sites(user.role, user.sites.as_deref()).map_err(invalid("sites"))?;
    if let Some(unknown) = user.sites.iter().flatten().find(|s| !known_site(s)) {
        return Err(invalid("sites")(format!("there is no site {unknown:?}")));
    }
    // The same password again (a role or sites changed) keeps its hash,
    // and with it the person's sessions.
    let password_hash = match accounts.user(&user.username)? {
        Some(known) if password::verify(&user.password, &known.password_hash) => {
            known.password_hash
        }
        _ => password::hash(&user.password),
    };
    accounts.put_user(&StoredUser {
        username: user.username.clone(),
        role: user.role,
        sites: user.sites.clone(),
        password_hash,
        failed_sign_ins: 0,
        locked_until: None,
    })?;
    Ok(())
}

/// When no one can sign in yet, makes the admin `admin` with a random
/// password and returns the password (to be shown once: only its hash is kept).
pub fn first_admin(accounts: &dyn AccountStore) -> Result<Option<String>, StoreError> {
    if accounts.user_count()? > 0 {
        return Ok(None);
    }
    // 20 hex characters: 80 bits, typed from a terminal without ambiguity.
    let password = crate::token::random_token()[..20].to_owned();
    accounts.put_user(&StoredUser {
        username: FIRST_ADMIN.into(),
        role: Role::Admin,
        sites: None,
        password_hash: password::hash(&password),
        failed_sign_ins: 0,
        locked_until: None,
    })?;
    Ok(Some(password))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::DuckDbStore;

    #[test]
    fn five_failures_in_a_row_lock_for_fifteen_minutes() {
        let mut state = (0, None);
        for _ in 0..4 {
            state = after_failure(state.0, state.1, 1_000);
            assert_eq!(state.1, None);
        }
        state = after_failure(state.0, state.1, 1_000);
        assert_eq!(state, (5, Some(1_000 + LOCKOUT_MS)));
        // Once the lock ran out, counting starts again.
        assert_eq!(after_failure(5, Some(2_000), 2_000), (1, None));
    }

    #[test]
    fn the_first_admin_is_made_once_and_can_sign_in() {
        let store = DuckDbStore::in_memory().unwrap();
        let password = first_admin(&store).unwrap().expect("no one could sign in");
        let stored = store.user(FIRST_ADMIN).unwrap().unwrap();
        assert_eq!(stored.role, Role::Admin);
        assert!(password::verify(&password, &stored.password_hash));
        assert!(!stored.password_hash.contains(&password));
        assert_eq!(first_admin(&store).unwrap(), None);
    }
}
