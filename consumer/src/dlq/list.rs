//! `dlq list`: read the parking lot without changing it.

use super::{DeadLetter, Inspection};
use crate::config::ListArgs;
use crate::error::Result;
use crate::Runtime;

/// The dead letters now in `<prefix>.dead` (those of `--trace-id`, at most `--limit`), all left in place.
pub async fn list(rt: &Runtime, args: &ListArgs) -> Result<Vec<DeadLetter>> {
    let inspection = Inspection::open(rt).await?;
    let limit = args.limit.unwrap_or(usize::MAX);
    let mut found = Vec::new();
    let mut read = 0;
    let result = async {
        // Only as many as were there at the start: what fails meanwhile waits for the next look.
        while read < inspection.at_start && found.len() < limit {
            let Some(delivery) = inspection.next().await? else { break };
            read += 1;
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
