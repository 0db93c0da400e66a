//! The three-node RabbitMQ cluster of `scripts/rabbit-cluster.sh`, for tests that prove eda on a
//! cluster: started through the script (idempotent), its URLs, and faults on one node. Tests
//! that use it have `on_the_rabbit_cluster` in their names; nextest runs them one at a time
//! (`.config/nextest.toml`), since a node killed by one would be a fault for the others.

use std::path::PathBuf;
use std::process::Command;

/// The cluster's nodes, as the script numbers them.
pub const NODES: [u8; 3] = [1, 2, 3];

/// A running cluster.
#[derive(Debug, Clone)]
pub struct RabbitCluster {
    script: PathBuf,
    urls: Vec<String>,
    names: Vec<String>,
}

impl RabbitCluster {
    /// Starts the cluster if it is not running (half a minute the first time) and waits
    /// until its three nodes are clustered. Panics saying how to look if it cannot.
    pub fn ensure() -> RabbitCluster {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/rabbit-cluster.sh");
        run(&script, &["start"]);
        let env = run(&script, &["env"]);
        let list = |name: &str| -> Vec<String> {
            let prefix = format!("export {name}=");
            env.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .map(|v| v.trim_matches('\'').split(',').map(str::to_owned).collect())
                .unwrap_or_else(|| panic!("rabbit-cluster.sh env prints {name}"))
        };
        RabbitCluster { urls: list("EDA_CLUSTER_AMQP_URL"), names: list("EDA_CLUSTER_NODES"), script }
    }

    /// Node `n`'s AMQP URL (guest, vhost `/`).
    pub fn url(&self, n: u8) -> &str {
        &self.urls[usize::from(n) - 1]
    }

    /// Every node's URL, comma-separated, starting with node `first`: what `AMQP_URL` takes.
    pub fn amqp_url_from(&self, first: u8) -> String {
        let i = usize::from(first) - 1;
        let mut urls = self.urls[i..].to_vec();
        urls.extend_from_slice(&self.urls[..i]);
        urls.join(",")
    }

    /// The node whose URL (password hidden or not) names this port; `None` for another broker.
    pub fn node_of(&self, url: &str) -> Option<u8> {
        let port = url::Url::parse(url).ok()?.port()?;
        NODES.into_iter().find(|n| url::Url::parse(self.url(*n)).ok().and_then(|u| u.port()) == Some(port))
    }

    /// `rabbitmqctl ARGS` against node `n`; its stdout.
    pub fn ctl(&self, n: u8, args: &[&str]) -> String {
        let node = n.to_string();
        let mut all = vec!["ctl", node.as_str()];
        all.extend_from_slice(args);
        run(&self.script, &all)
    }

    /// The node holding the leader of quorum queue `queue`.
    pub fn leader_of(&self, queue: &str) -> u8 {
        let node = self.queue_info(queue, "leader")["leader"].as_str().unwrap_or_default().to_owned();
        NODES
            .into_iter()
            .find(|n| node == self.names[usize::from(*n) - 1])
            .unwrap_or_else(|| panic!("queue {queue} has no leader on the cluster ({node:?})"))
    }

    /// `rabbitmqctl list_queues name <columns>` for one queue, as JSON, asked of a running node.
    pub fn queue_info(&self, queue: &str, columns: &str) -> serde_json::Value {
        let node = NODES.into_iter().find(|n| self.is_running(*n)).expect("a running node");
        let mut args = vec!["list_queues", "--formatter", "json", "name"];
        args.extend(columns.split(' '));
        let all: serde_json::Value =
            serde_json::from_str(&self.ctl(node, &args)).expect("list_queues prints JSON");
        all.as_array()
            .and_then(|qs| qs.iter().find(|q| q["name"] == queue).cloned())
            .unwrap_or_else(|| panic!("no queue {queue} on the cluster"))
    }

    /// Kills node `n` with SIGKILL (no goodbye to its peers or clients). Restart it with
    /// [`RabbitCluster::start_node`]; [`NodeDown`] does so when dropped.
    pub fn kill_9(&self, n: u8) -> NodeDown {
        let pid = run(&self.script, &["pid", &n.to_string()]);
        let status = Command::new("kill").args(["-KILL", pid.trim()]).status().expect("run kill");
        assert!(status.success(), "kill -9 of node {n} (pid {pid}) failed");
        NodeDown { cluster: self.clone(), node: n }
    }

    /// Sends `signal` (`STOP`, `CONT`, …) to node `n`'s Erlang VM.
    pub fn signal(&self, n: u8, signal: &str) {
        let pid = run(&self.script, &["pid", &n.to_string()]);
        let status =
            Command::new("kill").args([&format!("-{signal}"), pid.trim()]).status().expect("run kill");
        assert!(status.success(), "kill -{signal} of node {n} (pid {pid}) failed");
    }

    /// Stops node `n` cleanly (`rabbitmqctl stop`) and waits until its VM has ended.
    pub fn stop_node(&self, n: u8) {
        run(&self.script, &["stop-node", &n.to_string()]);
    }

    /// Starts node `n` again and waits until it has rejoined the cluster.
    pub fn start_node(&self, n: u8) {
        run(&self.script, &["start-node", &n.to_string()]);
        run(&self.script, &["start"]);
    }

    fn is_running(&self, n: u8) -> bool {
        Command::new(&self.script).args(["pid", &n.to_string()]).output().is_ok_and(|o| o.status.success())
    }
}

/// The value of argument `name` in a `list_queues … arguments` entry (`[name, type, value]` triples).
pub fn argument(info: &serde_json::Value, name: &str) -> Option<serde_json::Value> {
    info["arguments"].as_array()?.iter().find(|a| a[0] == name).map(|a| a[2].clone())
}

/// A node killed by a test: started again when this is dropped, so the next test finds three.
#[derive(Debug)]
pub struct NodeDown {
    cluster: RabbitCluster,
    pub node: u8,
}

impl Drop for NodeDown {
    fn drop(&mut self) {
        self.cluster.start_node(self.node);
    }
}

fn run(script: &PathBuf, args: &[&str]) -> String {
    let out = Command::new(script).args(args).output().expect("run scripts/rabbit-cluster.sh");
    assert!(
        out.status.success(),
        "scripts/rabbit-cluster.sh {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
