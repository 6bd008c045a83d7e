//! The pipeline's hot writes on SQLite, on the shared `Any` driver and the one write
//! connection, in the shape of PostgreSQL's (`postgres/`): a group of accepts and a batch of
//! run outcomes are each a few multi-row statements whatever their size, because the one
//! writer's thread spends its time per statement. What a run writes is decided once for both
//! databases (`outcome_columns.rs`).

mod accept;
mod finish;

pub(super) use accept::{accept_group, insert_together};
pub(super) use finish::finish_runs;

/// `rows` rows of `width` parameters each, numbered from `$1`: `($1, $2), ($3, $4)`.
pub(super) fn values(rows: usize, width: usize) -> String {
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
