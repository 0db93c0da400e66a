//! `consumer dlq`: the parking lot `<prefix>.dead`, inspected and replayed without losing
//! anything. Messages are taken with `basic.get` and never acked unless replayed and confirmed:
//! closing the channel gives every other one back to the queue untouched.

mod letter;
mod list;
mod progress;
mod replay;
mod table;

use std::time::Duration;

use eda_common::CommonArgs;
use lapin::options::{BasicGetOptions, QueueDeclareOptions};
use lapin::types::FieldTable;
use lapin::Channel;

pub use letter::DeadLetter;
pub use list::list;
pub use replay::{replay, ReplayReport};
pub use table::{print_json, print_table};

use crate::config::DlqAction;
use crate::error::{Error, Result};
use eda_common::service::Service;

/// How long a dlq command waits for the broker before giving up.
const CONNECT_WITHIN: Duration = Duration::from_secs(15);
/// How long closing an inspection waits for the broker to show the held messages ready again.
const RETURN_WAIT: Duration = Duration::from_secs(5);

/// Runs one dlq command against the broker of `common`.
pub async fn run(common: &CommonArgs, action: DlqAction) -> Result<()> {
    let rt = Service::start(common, "dlq", crate::PUBLISH_TIMEOUT);
    let result = async {
        rt.connected(CONNECT_WITHIN).await.ok_or(Error::Unreachable(CONNECT_WITHIN))?;
        let mut stdout = std::io::stdout().lock();
        match action {
            DlqAction::List(args) => {
                let letters = list(&rt, &args).await?;
                if args.json {
                    print_json(&letters, &mut stdout)
                } else {
                    print_table(&letters, table::terminal_width(), &mut stdout)
                }
            }
            DlqAction::Replay(args) => {
                let report = replay(&rt, &args, &mut stdout).await?;
                eprintln!("{report}");
                Ok(())
            }
        }
    }
    .await;
    rt.close().await;
    result
}

/// A channel that holds what it takes from `dead` until it is closed, and how many there were.
pub(crate) struct Inspection {
    conn: std::sync::Arc<lapin::Connection>,
    pub channel: Channel,
    pub queue: String,
    pub at_start: u32,
    /// Messages taken and not (yet) acked: they go back when the channel closes.
    pub held: u32,
}

impl Inspection {
    pub async fn open(rt: &Service) -> Result<Inspection> {
        let conn = rt.connected(CONNECT_WITHIN).await.ok_or(Error::Unreachable(CONNECT_WITHIN))?;
        let channel = conn.create_channel().await.map_err(Error::amqp("opening a channel"))?;
        let queue = rt.broker.topology().dead_queue();
        let passive = QueueDeclareOptions { passive: true, ..Default::default() };
        let at_start = channel
            .queue_declare(queue.as_str().into(), passive, FieldTable::default())
            .await
            .map_err(Error::amqp(format!("looking up {queue}")))?
            .message_count();
        Ok(Inspection { conn, channel, queue, at_start, held: 0 })
    }

    /// The next message, held unacked; `None` when the queue is empty.
    pub async fn next(&mut self) -> Result<Option<lapin::message::Delivery>> {
        let got = self
            .channel
            .basic_get(self.queue.as_str().into(), BasicGetOptions { no_ack: false })
            .await
            .map_err(Error::amqp(format!("reading {}", self.queue)))?;
        self.held += u32::from(got.is_some());
        Ok(got.map(|g| g.delivery))
    }

    /// Records that a held message was acked (it will not come back).
    pub fn released(&mut self) {
        self.held = self.held.saturating_sub(1);
    }

    /// Gives every message still held back to the queue, and waits (a few seconds at most)
    /// until the broker shows them ready again: quorum queues take returns asynchronously, and
    /// the next dlq command must see what this one left.
    pub async fn close(self) {
        let _ = self.channel.close(200, "dlq inspection done".into()).await;
        if self.held == 0 {
            return;
        }
        let Ok(channel) = self.conn.create_channel().await else { return };
        let passive = QueueDeclareOptions { passive: true, ..Default::default() };
        let deadline = tokio::time::Instant::now() + RETURN_WAIT;
        while tokio::time::Instant::now() < deadline {
            match channel.queue_declare(self.queue.as_str().into(), passive, FieldTable::default()).await {
                Ok(q) if q.message_count() < self.held => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                _ => break,
            }
        }
        let _ = channel.close(200, "dlq inspection done".into()).await;
    }
}
