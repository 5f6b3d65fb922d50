//! redis2lightning: migrate Redis keyspaces into Lightning DB.

#[allow(dead_code)]
mod rdb;

fn main() {}
