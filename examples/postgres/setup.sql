-- The demo database for examples/postgres/backfill-region.toml: 1,000,000 orders.
-- psql "$EBB_DEMO_DB_URL" -f examples/postgres/setup.sql
SET client_min_messages = warning;
DROP TABLE IF EXISTS orders;
CREATE TABLE orders (
    id bigint PRIMARY KEY,
    customer int NOT NULL,
    total numeric(10, 2) NOT NULL
);
INSERT INTO orders (id, customer, total)
SELECT i, i % 5000, (i % 997) + 0.99 FROM generate_series(1, 1000000) AS i;
ANALYZE orders;
