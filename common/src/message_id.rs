//! Message ids that sort by time: dbwriter's `events` primary key then grows at its right edge
//! instead of touching a random leaf of a large index for every row (docs/decisions.md).
//!
//! - A fresh id (a new event) is a UUIDv7: its first 48 bits are the creation time in ms.
//! - A derived id (an event whose redelivery must repeat its id: a follow-up, a Kubernetes
//!   event) is a digest of what it derives from. It gets the same v7 layout, a time in front of
//!   the digest's bytes, when a time as stable as the digest is at hand; else it keeps the
//!   digest-only form it always had.

use chrono::{DateTime, Utc};
use uuid::{Builder, Uuid};

/// A fresh message id: a UUIDv7; ids made later sort after earlier ones, as text too.
pub fn fresh() -> String {
    Uuid::now_v7().to_string()
}

/// The id of a message derived from message `cause` (its follow-up), from a SHA-256 `digest`
/// of the cause's id and what else makes it unique: behind the cause's creation time when the
/// cause's id carries one (a UUIDv7), else the digest alone, as a random-form UUID.
pub fn derived_from(cause: &str, digest: &[u8; 32]) -> String {
    match created_at(cause) {
        Some(millis) => time_ordered(millis, digest),
        None => Builder::from_random_bytes(first_16(digest)).into_uuid(),
    }
    .to_string()
}

/// The id of a message derived from something that happened at `at` (a stable time of its
/// source, such as a Kubernetes event's creation), from a SHA-256 `digest`; without a time, the
/// digest alone, as a version 8 UUID.
pub fn derived_at(at: Option<DateTime<Utc>>, digest: &[u8; 32]) -> String {
    match at.and_then(|t| u64::try_from(t.timestamp_millis()).ok()) {
        Some(millis) => time_ordered(millis, digest),
        None => Builder::from_custom_bytes(first_16(digest)).into_uuid(),
    }
    .to_string()
}

/// The creation time (ms since the Unix epoch) a message id carries, if it is a UUIDv7.
pub fn created_at(message_id: &str) -> Option<u64> {
    let id = Uuid::parse_str(message_id).ok()?;
    if id.get_version_num() != 7 {
        return None;
    }
    let (seconds, nanos) = id.get_timestamp()?.to_unix();
    Some(seconds * 1000 + u64::from(nanos) / 1_000_000)
}

/// The UUIDv7 layout: `millis`, then the digest's leading bytes where v7 has random ones.
fn time_ordered(millis: u64, digest: &[u8; 32]) -> Uuid {
    let mut bytes = [0u8; 10];
    bytes.copy_from_slice(&digest[..10]);
    Builder::from_unix_timestamp_millis(millis, &bytes).into_uuid()
}

fn first_16(digest: &[u8; 32]) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    fn digest(s: &str) -> [u8; 32] {
        Sha256::digest(s.as_bytes()).into()
    }

    #[test]
    fn fresh_ids_are_uuids_that_sort_in_the_order_they_were_made() {
        let ids: Vec<String> = (0..10_000).map(|_| fresh()).collect();
        assert!(ids.iter().all(|id| created_at(id).is_some()), "every fresh id is a v7: {}", ids[0]);
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids made later sort after earlier ones, as text");
    }

    #[test]
    fn a_follow_up_of_a_time_ordered_cause_carries_the_causes_time_and_is_the_same_each_time() {
        let cause = fresh();
        let id = derived_from(&cause, &digest("a"));
        assert_eq!(created_at(&id), created_at(&cause));
        assert_eq!(id, derived_from(&cause, &digest("a")), "a redelivered cause yields the same id");
        assert_ne!(id, derived_from(&cause, &digest("b")));
        let later = fresh();
        let next = derived_from(&later, &digest("a"));
        assert!(id[..13] <= next[..13], "follow-ups of later causes sort after: {id} {next}");
    }

    #[test]
    fn a_follow_up_of_any_other_cause_keeps_the_random_form_ids_had_before() {
        let cause = "3b6c1f4e-8d2a-4c1b-9f0e-2a7d5c4b3e21";
        let id = derived_from(cause, &digest("x"));
        let before = Builder::from_random_bytes(first_16(&digest("x"))).into_uuid().to_string();
        assert_eq!(id, before, "an upgrade must not change the id a redelivered message yields");
        assert_eq!(Uuid::parse_str(&id).unwrap().get_version_num(), 4);
        assert_eq!(derived_from("not-a-uuid", &digest("x")), before);
    }

    #[test]
    fn an_id_derived_at_a_time_carries_it_and_one_without_a_time_keeps_the_version_8_form() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T10:00:00.123Z").unwrap().with_timezone(&Utc);
        let id = derived_at(Some(at), &digest("e"));
        assert_eq!(created_at(&id), Some(u64::try_from(at.timestamp_millis()).unwrap()));
        let earlier = derived_at(Some(at - chrono::Duration::milliseconds(1)), &digest("f"));
        assert!(earlier < id, "{earlier} sorts before {id}");
        let untimed = derived_at(None, &digest("e"));
        assert_eq!(untimed, Builder::from_custom_bytes(first_16(&digest("e"))).into_uuid().to_string());
        let before_1970 = DateTime::from_timestamp(-1, 0);
        assert_eq!(derived_at(before_1970, &digest("e")), untimed);
    }
}
