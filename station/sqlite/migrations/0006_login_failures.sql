-- Failed logins counted per account and client address: five in a row from one address lock that
-- address out of the account for a while; the account itself locks only after many more from anywhere,
-- so a stranger on the LAN cannot lock the staff out of their own counter.
CREATE TABLE login_failures (
	username     TEXT NOT NULL,
	address      TEXT NOT NULL,
	failures     INTEGER NOT NULL,
	last_at      TEXT NOT NULL,
	locked_until TEXT,
	PRIMARY KEY (username, address)
) STRICT;
