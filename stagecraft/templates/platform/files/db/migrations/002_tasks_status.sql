-- The worker's and the status page's lookups by state.
CREATE INDEX tasks_status_idx ON tasks (status);
ALTER TABLE tasks ADD CONSTRAINT tasks_status_check CHECK (status IN ('queued', 'done'));
