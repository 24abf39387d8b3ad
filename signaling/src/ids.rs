//! Newtype identifiers of the conference model.

use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;

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

string_id!(
    /// A room's unique name, used in every route.
    RoomName
);
string_id!(
    /// A participant's identity, unique within a room (from the token's `sub`).
    Identity
);
string_id!(
    /// One participant session (`PA_…`); a rejoin gets a new one.
    ParticipantSid
);
string_id!(
    /// One published track (`TR_…`).
    TrackSid
);

pub(crate) fn random_sid(prefix: &str) -> String {
    let tail: String = rand::thread_rng().sample_iter(&Alphanumeric).take(12).map(char::from).collect();
    format!("{prefix}_{tail}")
}
