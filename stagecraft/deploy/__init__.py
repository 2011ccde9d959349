"""One deploy: the phase sequence and the steps it runs (used by `deploy` and `rollback`).

    session = open_session(env_ctx, envvars=..., env_names=..., limit=[...])   # one driver discovery
    result = phases.execute(session, Work(kind="deploy", version=..., build=Build(...)), lock_wait=0)

Modules, in the order a deploy uses them:

- session    what one run works with: config, environment, the hosts as discovered once, env values
- inventory  pure: the Ansible inventory and per-host variables of a deploy, from that one discovery
- envvars    which variables the hosts' .env gets and their values (secrets travel in memory only)
- images     build the app's images and the edge proxy image (docker build / encore build)
- registry   docker login + push (project.images.transport registry)
- render     the desired per-host compose files (HostDeploy), and those recorded in a release
- ship       probe the hosts (what runs there) and send them the images they lack over SSH
- batches    rollout order (data -> app -> gateway) and batch size
- rollout    one batch through the deploy playbook; what happens when a batch fails
- migrations the psql runner and the migrate_pre / migrate_post phases
- hooks      .stagecraft/hooks/<name> scripts
- phases     the sequence build -> push -> migrate_pre -> rollout -> migrate_post -> finalize
- diff       pure: what a deploy would change per host (the `plan` command / deploy --dry-run)
- probe      the app's URLs after a deploy, and one HTTP probe

The CLI (stagecraft.cli.cmd_deploy) keeps options, dry-run and output.
"""
