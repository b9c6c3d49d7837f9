//! `cirl serve`: a teaching page that runs the library itself. [`server`] serves the page (from `web/`, compiled
//! into the binary) and [`api`] answers its requests with the same computations the CLI prints.

pub mod api;
pub mod server;
