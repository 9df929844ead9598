"""PostgreSQL storage: migrations, the batched writer, the embedded default database."""
