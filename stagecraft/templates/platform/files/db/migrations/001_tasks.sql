-- Tasks the API creates and the worker completes. Raw SQL, applied once in file-name order by
-- `stagecraft deploy` (pre_deploy) and `stagecraft dev`; never edit an applied file, add a new one.
CREATE TABLE tasks (
  id         bigserial PRIMARY KEY,
  title      text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  status     text NOT NULL DEFAULT 'queued',
  result     text,
  worker     text,
  created_at timestamptz NOT NULL DEFAULT now(),
  done_at    timestamptz
);
