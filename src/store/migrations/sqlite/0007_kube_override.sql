-- `--context` and `-n/--namespace` given when a run was created (issue 16): they override
-- every kubernetes target of its plan, for its runner, its resumes and its consoles alike.
ALTER TABLE runs ADD COLUMN kube_context TEXT;
ALTER TABLE runs ADD COLUMN kube_namespace TEXT;
