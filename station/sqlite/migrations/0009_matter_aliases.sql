-- The everyday names people use for a matter (低保 for 最低生活保障申请), searched like its name:
-- a JSON array of strings, validated by station.Matter.Validate.
ALTER TABLE matters ADD COLUMN aliases TEXT NOT NULL DEFAULT '[]';
