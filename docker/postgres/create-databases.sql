-- docker compose: the three services' databases, created once when the PostgreSQL volume is new
-- (the official image runs /docker-entrypoint-initdb.d/*.sql only on an empty data directory).
CREATE DATABASE user_db;
CREATE DATABASE room_db;
CREATE DATABASE reservation_db;
