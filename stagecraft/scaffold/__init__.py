"""Scaffolding: the template engine behind `init`, `new` and `attach`, and what `attach` detects.

- manifest  a template's `template.yml`: name, description, variables (defaults, validation), file rules,
            post-create messages, included templates, the CI workflow to write
- source    where templates come from: built-in (stagecraft/templates, shipped in the wheel), a local
            directory, or a git URL (cloned shallowly into a temporary directory)
- engine    variable values (--var, prompts, defaults) and rendering (Jinja2, sandboxed) to files in memory
- files     what writing those files would change: created / updated / unchanged / kept, with diffs
- detect    `attach`: compose files, Dockerfiles and Node/Python/Go manifests of an existing repository
"""
