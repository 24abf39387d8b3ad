//! Newtype identifiers of the conference model, and the one naming rule of room names and
//! identities (checked wherever a name enters: tokens, the admin API, in-room moderation).

use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::fmt;

/// Longest room name, in bytes.
pub const MAX_ROOM_NAME_BYTES: usize = 64;
/// Longest identity, in bytes.
pub const MAX_IDENTITY_BYTES: usize = 128;

/// Why a name was refused (the message says which rule it broke).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidName(String);

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

/// A name checked by a rule: constructed only through `parse` (or deserialisation, which parses).
macro_rules! checked_name {
    ($(#[$doc:meta])* $name:ident, $check:path) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `value` against the rule.
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidName> {
                let value = value.into();
                $check(&value)?;
                Ok(Self(value))
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidName;
            fn try_from(value: String) -> Result<Self, InvalidName> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
    };
}

checked_name!(
    /// A room's unique name, used in every route: 1–64 letters, digits, `-`, `_` or `.` (safe in
    /// URLs, tokens, logs and keys of an external store).
    RoomName,
    check_room_name
);
checked_name!(
    /// A participant's identity, unique within a room (from the token's `sub`): 1–128 bytes, no
    /// control characters, not blank.
    Identity,
    check_identity
);
string_id!(
    /// One participant session (`PA_…`); a rejoin gets a new one.
    ParticipantSid
);
string_id!(
    /// One published track (`TR_…`).
    TrackSid
);

fn check_room_name(name: &str) -> Result<(), InvalidName> {
    let ok = !name.is_empty()
        && name.len() <= MAX_ROOM_NAME_BYTES
        && name.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(InvalidName(format!(
            "room names are 1–{MAX_ROOM_NAME_BYTES} bytes of letters, digits, '-', '_' or '.', not {name:?}"
        )))
    }
}

fn check_identity(identity: &str) -> Result<(), InvalidName> {
    if identity.trim().is_empty() {
        return Err(InvalidName("an identity must not be empty".into()));
    }
    if identity.len() > MAX_IDENTITY_BYTES {
        return Err(InvalidName(format!("an identity is at most {MAX_IDENTITY_BYTES} bytes")));
    }
    if identity.chars().any(char::is_control) {
        return Err(InvalidName(format!("identity {identity:?} contains a control character")));
    }
    Ok(())
}

pub(crate) fn random_sid(prefix: &str) -> String {
    let tail: String = rand::thread_rng().sample_iter(&Alphanumeric).take(12).map(char::from).collect();
    format!("{prefix}_{tail}")
}

/// A random secret of 32 alphanumeric characters (about 190 bits), e.g. a resume token.
pub(crate) fn random_secret() -> String {
    rand::thread_rng().sample_iter(&Alphanumeric).take(32).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_follow_one_rule() {
        for good in ["standup", "team-1", "a.b_c", "Zürich", &"x".repeat(64)] {
            assert_eq!(RoomName::parse(good).unwrap().as_str(), good);
        }
        for bad in ["", "has space", "a/b", "tab\t", &"x".repeat(65)] {
            assert!(RoomName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn identities_are_printable_and_bounded() {
        for good in ["alice", "a/b", "Bob Smith", "user@example.com"] {
            assert!(Identity::parse(good).is_ok(), "{good:?}");
        }
        for bad in ["", "   ", "nul\0", &"x".repeat(129)] {
            assert!(Identity::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deserialising_parses() {
        assert!(serde_json::from_str::<RoomName>("\"ok\"").is_ok());
        let err = serde_json::from_str::<RoomName>("\"not ok\"").unwrap_err().to_string();
        assert!(err.contains("room names are"), "{err}");
        assert_eq!(serde_json::to_string(&Identity::parse("a").unwrap()).unwrap(), "\"a\"");
    }
}
