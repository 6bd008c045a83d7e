//! Redis dispatch across processes: shared work, exactly once, lost messages recovered.
