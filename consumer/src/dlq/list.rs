//! `dlq list`: read the parking lot without changing it.

use super::{DeadLetter, Inspection};
use crate::config::ListArgs;
use crate::error::Result;
use eda_common::service::Service;

/// The dead letters now in `<prefix>.dead` (those of `--trace-id`, at most `--limit`), all left in place.
pub async fn list(rt: &Service, args: &ListArgs) -> Result<Vec<DeadLetter>> {
    let mut inspection = Inspection::open(rt).await?;
    let limit = args.limit.unwrap_or(usize::MAX);
    let mut found = Vec::new();
    let result = async {
        // Until the queue has nothing ready: every message taken is held, so each is seen once.
        while found.len() < limit {
            let Some(delivery) = inspection.next().await? else { break };
            let letter = DeadLetter::read(&delivery);
            if args.trace_id.is_none() || letter.trace_id == args.trace_id {
                found.push(letter);
            }
        }
        Ok(())
    }
    .await;
    inspection.close().await;
    result.map(|()| found)
}
