//! scimd's database schema: one set of migrations for SQLite and PostgreSQL.
//!
//! Column types are kept portable (text ids, integer milliseconds for
//! instants, text JSON documents) so the same statements run on SQLite,
//! PostgreSQL and PostgreSQL-compatible distributed databases.

pub use sea_orm_migration::prelude::*;

mod m20261128_000001_initial;

/// Runs scimd's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261128_000001_initial::Migration)]
    }
}
