//! Reading RDB snapshot files (what `redis-cli --rdb` and a server's `dump.rdb` hold).
