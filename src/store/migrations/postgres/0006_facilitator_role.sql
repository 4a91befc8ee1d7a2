-- A drill's facilitator attaches as a console of its own role (issue 15).
ALTER TABLE consoles DROP CONSTRAINT IF EXISTS consoles_role_check;
ALTER TABLE consoles ADD CONSTRAINT consoles_role_check
    CHECK (role IN ('driver', 'watcher', 'facilitator'));
