-- One small schema that SQLite, PostgreSQL and MariaDB all read the same way: tables
-- with keys, an index, a foreign key and text columns, nothing particular to any of
-- them. The source tools' tests load it into each database and compare what
-- `assess` makes of it.
CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(200));
CREATE UNIQUE INDEX customers_email ON customers (email);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL,
  note TEXT,
  FOREIGN KEY (customer_id) REFERENCES customers (id)
);
CREATE INDEX orders_customer ON orders (customer_id);
CREATE TABLE tags (id INTEGER PRIMARY KEY, label VARCHAR(50) NOT NULL);
INSERT INTO customers VALUES (1, 'Ann', 'ann@example.com'), (2, 'Bob', 'bob@example.com');
INSERT INTO orders VALUES (1, 1, 'first'), (2, 2, NULL), (3, 1, 'again');
INSERT INTO tags VALUES (1, 'red'), (2, 'green');
