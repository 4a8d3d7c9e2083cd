//! Server-wide secrets shared by every scimd process on the database
//! (e.g. the key that signs pagination cursors).

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};

use super::{Store, StoreError};

impl Store {
    /// The secret called `name`; the first process to ask stores `fresh`,
    /// and every process reads back the same value.
    pub async fn shared_secret(&self, name: &str, fresh: &str) -> Result<String, StoreError> {
        let _turn = self.write_turn().await?;
        let table = Alias::new("server_secrets");
        let insert = Query::insert()
            .into_table(table.clone())
            .columns([Alias::new("name"), Alias::new("value")])
            .values_panic([name.into(), fresh.into()])
            .on_conflict(
                OnConflict::column(Alias::new("name"))
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        let backend = self.write.get_database_backend();
        self.write.execute_raw(backend.build(&insert)).await?;
        let select = Query::select()
            .column(Alias::new("value"))
            .from(table)
            .and_where(Expr::col(Alias::new("name")).eq(name))
            .to_owned();
        let row = self.write.query_one_raw(backend.build(&select)).await?;
        match row {
            Some(row) => Ok(row.try_get("", "value")?),
            None => Err(StoreError::Corrupt(format!("server secret {name}"))),
        }
    }
}
