//! The pipeline's hot writes on SQLite, on the shared `Any` driver and the one write
//! connection, in the shape of PostgreSQL's (`postgres/`): a group of accepts and a batch of
//! run outcomes are each a few multi-row statements whatever their size, because the one
//! writer's thread spends its time per statement. What a run writes is decided once for both
//! databases (`outcome_columns.rs`).

mod accept;
mod finish;

pub(super) use accept::accept_group;
pub(super) use finish::finish_runs;

use super::StoreError;

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// SQLite takes at most 32,766 parameters in one statement; rows beyond are written in more.
#[cfg(not(test))]
const MAX_PARAMETERS: usize = 30_000;
/// Small in unit tests, so that their batches are written in several statements.
#[cfg(test)]
const MAX_PARAMETERS: usize = 100;

/// Writes `rows` with the statement `sql` makes of their `VALUES` list, `width` parameters a
/// row bound by `bind`: one statement, or as many as the parameter limit needs.
async fn write_rows<'q, R: Copy>(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    rows: &[R],
    width: usize,
    sql: impl Fn(String) -> String,
    bind: impl Fn(Query<'q>, R) -> Query<'q>,
    operation: &'static str,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(MAX_PARAMETERS / width) {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql(values(chunk.len(), width))));
        for &row in chunk {
            query = bind(query, row);
        }
        query
            .execute(&mut **tx)
            .await
            .map_err(StoreError::db(operation))?;
    }
    Ok(())
}

/// `rows` rows of `width` parameters each, numbered from `$1`: `($1, $2), ($3, $4)`.
fn values(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|row| {
            let cells: Vec<String> = (1..=width)
                .map(|k| format!("${}", row * width + k))
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::values;

    #[test]
    fn values_number_their_parameters_row_by_row() {
        assert_eq!(values(2, 3), "($1, $2, $3), ($4, $5, $6)");
        assert_eq!(values(1, 1), "($1)");
    }
}
