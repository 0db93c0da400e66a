//! The Grafana dashboards the chart and compose ship (helm/eda/dashboards): valid JSON, SQL
//! that runs against the dbwriter's schema, and Prometheus queries on metrics that exist.

mod grafana;
mod prometheus;
mod promtool;
mod sql;
