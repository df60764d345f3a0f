-- Messages the bot could not understand, counted per day by their normalised text (lower
-- case, spaces collapsed, long digit runs dropped, at most 100 characters), for /stats: what
-- customers ask that the bot does not know yet. Rows older than 35 days are purged.
CREATE TABLE IF NOT EXISTS unrecognised_messages (
    day   TEXT NOT NULL,
    text  TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (day, text)
);
