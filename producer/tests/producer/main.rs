//! Integration tests of the producer against the real RabbitMQ: the real application runs
//! in-process on 127.0.0.1:0 with its own topology prefix per test.

mod auth;
mod bad_input;
mod browser;
mod browser_sign_in;
mod browser_tenants;
mod csrf;
mod helpers;
mod ledger;
mod openapi;
mod orders;
mod outage;
mod provider;
mod proxy;
mod sign_in;
mod sse;
mod tenants;
mod traces;
